"""The progress bars of long calls (train, evaluate, scores, search, the importers): tqdm's
widget in a notebook, its text bar on a terminal's stderr, nothing when no one is watching
(output to a file or a pipe). robbench reports each task's updates here, by name."""

from __future__ import annotations

import sys
from typing import Any, Optional


def _watched() -> Optional[str]:
    """'notebook' in a Jupyter kernel, 'terminal' when stderr is one, else None."""
    shell = sys.modules.get("IPython")
    if "ipykernel" in sys.modules and shell is not None:
        ip = shell.get_ipython()
        if ip is not None and type(ip).__name__ == "ZMQInteractiveShell":
            return "notebook"
    stream = sys.stderr
    if stream is not None and hasattr(stream, "isatty") and stream.isatty():
        return "terminal"
    return None


class Bars:
    """One bar per running task. A task that ends within `delay` seconds is never drawn."""

    delay = 0.4

    def __init__(self) -> None:
        self._bars: dict[str, Any] = {}

    def __call__(self, task: str, done: int, total: int, note: str, finished: bool) -> None:
        bar = self._bars.get(task)
        if finished:
            if bar is not None:
                bar.update(done - bar.n)
                bar.close()
                del self._bars[task]
            return
        if bar is None:
            watched = _watched()
            if watched is None:
                return
            from tqdm.auto import tqdm

            # A notebook keeps the finished bar as the cell's record; a terminal clears it, as
            # the shell does.
            bar = tqdm(total=total, desc=task, delay=self.delay, leave=watched == "notebook")
            self._bars[task] = bar
        if bar.total != total:
            bar.total = total
        if note:
            bar.set_postfix_str(note, refresh=False)
        bar.update(done - bar.n)
