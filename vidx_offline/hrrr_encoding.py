"""How NCEP encodes HRRR's messages, beyond what every NCEP model shares: its grid, its
generating process and the GRIB2 parameter codes its post-processor writes.

Contract:

- :func:`hrrr_grid` is the HRRR CONUS Lambert conformal grid (template 3.30) exactly as NCEP
  writes it, checked with ecCodes against a real HRRR message
  (``hrrr.t06z.wrfsfcf01-TMP.grib2``): 1799 x 1059 points, first point 21.138123°N
  237.280472°E, LoV 262.5°E, LaD = Latin1 = Latin2 = 38.5°N, Dx = Dy = 3000 m, spherical earth
  of radius 6371229 m (shapeOfTheEarth 6), scanning mode 64 (+i, +j: row 0 is the southernmost
  row). A smaller ``(ny, nx)`` shape keeps the first point and spacing (tests use tiny grids).
- :data:`HRRR_GENERATING_PROCESS` is 83 (HRRR, ON388 table A), as the real message says.
- :data:`HRRR_PARAMETERS` holds the codes HRRR writes for wgrib2 names that GFS/GEFS encode
  differently (:data:`~vidx_offline.grib_encode.ELEMENTS` holds GFS's): NCEP's post-processor
  (UPP) writes the WMO code where its HRRR control file's ``table_info`` is ``?`` and the NCEP
  local code where it is ``NCEP`` (``parm/postxconfig-NT-hrrr.txt`` with
  ``params_grib2_tbl_new``). wgrib2 names both codes alike, so the inventory text is the same.
  Elements only HRRR writes carry HRRR's codes in ``ELEMENTS`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from vidx_offline.grids import LambertConformalGrid

HRRR_GENERATING_PROCESS = 83
"""``generatingProcessIdentifier`` of NCEP's HRRR (ON388 table A), as in real HRRR messages."""

HRRR_GRID_SHAPE = (1059, 1799)
"""``(Ny, Nx)`` of HRRR's CONUS grid."""

HRRR_PARAMETERS: Mapping[str, tuple[int, int, int]] = {
    # WMO codes (UPP table_info "?") where GFS writes NCEP local ones.
    "CRAIN": (0, 1, 33),
    "CFRZR": (0, 1, 34),
    "CICEP": (0, 1, 35),
    "CSNOW": (0, 1, 36),
    "FRICV": (0, 2, 30),
    "USTM": (0, 2, 27),
    "VSTM": (0, 2, 28),
    "HPBL": (0, 3, 18),
    "LFTX": (0, 7, 10),
    "CNWAT": (2, 0, 13),
}
"""HRRR's ``(discipline, category, number)`` for the wgrib2 names it shares with GFS/GEFS but
encodes differently (see the module contract)."""


def hrrr_grid(shape: tuple[int, int] = HRRR_GRID_SHAPE) -> LambertConformalGrid:
    """HRRR's Lambert conformal grid with ``shape = (ny, nx)`` points from its first point (see
    the module contract); the default is the real 1059 x 1799 grid."""
    return LambertConformalGrid(
        shape=shape,
        la1=21_138_123,
        lo1=237_280_472,
        lov=262_500_000,
        lad=38_500_000,
        latin1=38_500_000,
        latin2=38_500_000,
        dx=3_000_000,
        dy=3_000_000,
    )
