"""One progress bar for every long-running call (sampler, lookahead, sweeps, recommend_lr)."""

from __future__ import annotations

from typing import Any


def progress_bar(
    progress: bool, *, total: int, desc: str, unit: str, initial: int = 0, leave: bool = False
) -> Any:
    """A ``tqdm`` bar, shown when ``progress`` is true (a notebook widget where there is one).

    With ``progress=False`` the plain ``tqdm.std`` class is used, disabled: ``tqdm.auto``
    would warn in notebooks without ipywidgets even when the bar is never shown.
    """
    if progress:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(
        total=total, initial=initial, disable=not progress, desc=desc, unit=unit, leave=leave
    )
