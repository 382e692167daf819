"""Type stubs of the native module (see ``standort.Engine`` for the documented API)."""

from typing import Any, Optional

__version__: str

class Error(Exception):
    """Any error of standort: bad input, a missing layer, a closed engine. The message is
    one line naming the file, table row (from 0) or column."""

class Engine:
    def __init__(
        self,
        profile: str = "ai-campus",
        data_dir: Optional[str] = None,
        layers: Optional[str] = None,
        cache: bool = True,
    ) -> None: ...
    @property
    def profile(self) -> str: ...
    @property
    def criteria(self) -> list[str]: ...
    @property
    def set_dependent(self) -> bool: ...
    @property
    def warnings(self) -> list[str]: ...
    def _columns_json(self) -> str: ...
    def schema(self, schema: Any) -> Any: ...
    def score(self, table: Any, *, lon: Optional[str] = None, lat: Optional[str] = None) -> Any: ...
    def _region(
        self,
        query: Optional[str],
        *,
        bbox: Optional[tuple[float, float, float, float]] = None,
        cell: Optional[float] = None,
        top: int = 10,
        min_spacing_km: float = 50.0,
        sub_scores: bool = False,
    ) -> tuple[Any, str]: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Engine": ...
    def __exit__(self, *args: Any) -> bool: ...
