"""The benchmark pipeline in GeoPandas + Shapely (+ SciPy, rasterio), as an analyst would
write it: great-circle distances via KD-trees on 3D unit vectors (queries on every core:
`workers=-1`, and the radius sums in chunks on a thread pool, as SciPy's trees release the
GIL), a spatial join for the basins (pyogrio with Arrow), rasterio for the land-cost raster
(GDAL decoding on every core), top 1000 written as GeoJSON.

usage: peer_geopandas.py WORK_DIR SITES.csv OUT.geojson [LAND.tif]
"""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("GDAL_NUM_THREADS", "ALL_CPUS")

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from scipy.spatial import cKDTree

R = 6371.0088


def unit(lon, lat):
    lon, lat = np.radians(np.asarray(lon)), np.radians(np.asarray(lat))
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def main(work, sites_csv, out, land_tif=None):
    grid = pd.read_csv(f"{work}/grid_points.csv", engine="pyarrow")
    basins = gpd.read_file(f"{work}/basins.geojson", use_arrow=True)
    sites = pd.read_csv(sites_csv, engine="pyarrow")
    n = len(sites)
    q = unit(sites.lon, sites.lat)

    # Nearest plant >= 100 MW: chord distance on unit vectors is monotone in great-circle km.
    big = grid[grid.capacity_mw >= 100]
    chord, _ = cKDTree(unit(big.lon, big.lat)).query(q, k=1, workers=-1)
    grid_km = 2 * np.arcsin(np.clip(chord / 2, 0, 1)) * R

    # Capacity within 100 km (great-circle), in chunks (bounded memory) on every core.
    tree = cKDTree(unit(grid.lon, grid.lat))
    cap = grid.capacity_mw.to_numpy()
    r_chord = 2 * np.sin(100.0 / R / 2)
    cap_mw = np.zeros(n)

    size = min(100_000, -(-n // os.cpu_count()))

    def chunk(start):
        part = cKDTree(q[start : start + size])
        m = part.sparse_distance_matrix(tree, r_chord * (1 + 1e-12), output_type="coo_matrix")
        # Exact great-circle test on the candidate pairs.
        d = 2 * np.arcsin(np.clip(m.data / 2, 0, 1)) * R
        keep = d <= 100.0
        cap_mw[start : start + size] = np.bincount(m.row[keep], weights=cap[m.col[keep]], minlength=part.n)

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(chunk, range(0, n, size)))

    # Basin containing each site.
    gsites = gpd.GeoDataFrame({"idx": np.arange(n)}, geometry=gpd.points_from_xy(sites.lon, sites.lat), crs="EPSG:4326")
    joined = gpd.sjoin(gsites, basins[["bws_score", "geometry"]], predicate="intersects", how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    bws = joined.sort_index().bws_score.to_numpy()

    # Land cost from the raster.
    with rasterio.open(land_tif or f"{work}/land_cost.tif") as src:
        band = src.read(1)
        rows, cols = rasterio.transform.rowcol(src.transform, sites.lon.to_numpy(), sites.lat.to_numpy())
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        land = np.full(n, np.nan)
        land[inside] = band[rows[inside], cols[inside]]
        if src.nodata is not None:
            land[land == src.nodata] = np.nan

    s_grid = np.clip((150.0 - grid_km) / 145.0, 0, 1)
    s_cap = np.clip(cap_mw / 2000.0, 0, 1)
    s_bws = np.clip((5.0 - bws) / 5.0, 0, 1)
    s_land = np.clip((10000.0 - land) / 9000.0, 0, 1)
    score = (3 * s_grid + 2 * s_cap + 3 * s_bws + 1 * s_land) / 9.0
    ok = ~np.isnan(bws) & ~np.isnan(land) & (bws <= 4.0)
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((idx, -score[idx]))][:1000]
    top = gpd.GeoDataFrame(
        {"id": sites.id.to_numpy()[order], "rank": np.arange(1, len(order) + 1), "score": score[order]},
        geometry=gpd.points_from_xy(sites.lon.to_numpy()[order], sites.lat.to_numpy()[order]),
        crs="EPSG:4326",
    )
    top.to_file(out, driver="GeoJSON")


if __name__ == "__main__":
    main(*sys.argv[1:5])
