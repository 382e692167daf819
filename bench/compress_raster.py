"""Write the benchmark's land-cost raster the way GDAL writes it for rasterio users by default
when asked for compression: 256 x 256 tiles, DEFLATE, floating-point predictor (3).

usage: compress_raster.py IN.tif OUT.tif
"""
import sys

import rasterio


def main(src_path, out_path):
    with rasterio.open(src_path) as src:
        profile = src.profile
        profile.update(tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=3)
        with rasterio.open(out_path, "w", **profile) as dst:
            dst.write(src.read(1), 1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
