"""Request-time functions never import the heavy ML stack (behaviour; timings live in benchmarks/)."""

from tests.unit.cold_start import modules_loaded_by

# numpy too: only the jobs and the prediction routes need it, when they run (not when the app loads)
HEAVY = ("torch", "sentence_transformers", "mlflow", "feast", "sklearn", "onnxruntime", "pandas", "numpy")


def _heavy_modules_loaded_by(imports: str) -> str:
    """The HEAVY modules a fresh interpreter holds after `import <imports>` (comma-separated), as a cold start would."""
    return modules_loaded_by(imports, HEAVY)


def test_loading_the_app_imports_no_heavy_module():
    assert _heavy_modules_loaded_by("app") == ""


def test_serving_and_monitoring_use_cases_load_without_onnxruntime_or_numpy():
    """api_handler imports these modules with the app; only a prediction (in serve_predictions) loads a graph."""
    loaded = _heavy_modules_loaded_by(
        "app, maestro.services.model_serving, maestro.services.serving_monitoring, "
        "maestro.domain.model_serving, maestro.domain.serving_monitoring"
    )
    assert loaded == ""
