"""Type stubs of the ``standort`` package."""

import os
from typing import Any, Optional, Union

import pyarrow as pa

from ._standort import Error as Error

__version__: str
PathLike = Union[str, os.PathLike[str]]

class Engine:
    def __init__(
        self,
        profile: str = "ai-campus",
        data_dir: Optional[PathLike] = None,
        layers: Optional[PathLike] = None,
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
    @property
    def columns(self) -> dict[str, Any]: ...
    def score(self, table: Any, *, lon: Optional[str] = None, lat: Optional[str] = None) -> pa.Table: ...
    def schema(self, schema: Any) -> pa.Schema: ...
    def region(
        self,
        query: Optional[str] = None,
        *,
        bbox: Optional[tuple[float, float, float, float]] = None,
        cell: Optional[float] = None,
        top: int = 10,
        min_spacing_km: float = 50.0,
        sub_scores: bool = False,
    ) -> dict[str, Any]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Engine: ...
    def __exit__(self, *exc: Any) -> None: ...
