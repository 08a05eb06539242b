"""The offline archive: producers' layouts with real ecCodes-encoded GRIB2, on a loopback S3 API."""
