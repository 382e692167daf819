from typing import Any, Optional

from . import Engine

def worker_engine(
    profile: str = "ai-campus", data_dir: Optional[str] = None, layers: Optional[str] = None
) -> Engine: ...
def score_spark(
    df: Any,
    *,
    profile: str = "ai-campus",
    data_dir: Optional[str] = None,
    layers: Optional[str] = None,
    lon: Optional[str] = None,
    lat: Optional[str] = None,
) -> Any: ...
