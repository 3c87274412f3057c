-- Builds the bundled benchmark (make build runs it on a new folder): the published
-- NAS-RobBench-201 table from its project page, read by robbench's importer.
INSERT INTO runs FROM read_nasrobbench201('data/nasrobbench201_page.js', target := 'runs');
INSERT INTO metrics FROM read_nasrobbench201('data/nasrobbench201_page.js');
