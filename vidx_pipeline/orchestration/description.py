"""The Markdown description of a dataset's asset: what the Dagster UI shows on the asset's page
(its dims and every variable with long name, units and dims), derived from the spec alone, so
loading the code location reads nothing from storage."""

from __future__ import annotations

from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline.template import dim_size


def dataset_description(spec: DatasetSpec) -> str:
    """``name: description``, the dims with their lengths (the append dimension grows by one
    per partition), then a table of the variables in the spec's order."""
    append = spec.append_dimension.name
    dims: dict[str, str] = {}
    for variable in spec.variables:
        for dim in spec.variable_dims(variable):
            if dim not in dims:
                dims[dim] = "one per partition" if dim == append else str(dim_size(spec, dim))
    rows = [
        f"| `{v.name}` | {v.attrs.long_name} | {v.attrs.units} | {v.level_dimension or ''} |"
        for v in spec.variables
    ]
    return "\n".join(
        [
            f"{spec.name}: {spec.description}",
            "",
            "**Dimensions:** " + ", ".join(f"`{dim}` ({size})" for dim, size in dims.items()),
            "",
            f"**Variables ({len(spec.variables)})**, each over "
            + " x ".join((*spec.non_grid_dims, *spec.grid.dims))
            + ", with its level dimension if any:",
            "",
            "| variable | long name | units | level dimension |",
            "|---|---|---|---|",
            *rows,
        ]
    )
