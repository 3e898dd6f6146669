.PHONY: all run test test-fast lint fmt typecheck benchmark fidelity control abuse
all: fmt lint typecheck test-fast  ## format, lint, type-check, then the quick tests

run:  ## run the platform on the embedded default
	bash tools/run.sh
test:  ## install what the tests need, then lint, type-check and run every test
	bash tools/test.sh
test-fast:  ## the tests not marked slow or sdv, in .venv (after one `make test` has built it)
	.venv/bin/pytest -m "not slow and not sdv" -n 3 --dist loadfile
lint:  ## ruff, as the test command runs it
	.venv/bin/ruff check src tests benchmarks monitoring
	.venv/bin/ruff format --check src tests benchmarks monitoring
fmt:  ## fix what ruff can and format
	.venv/bin/ruff check --fix src tests benchmarks monitoring
	.venv/bin/ruff format src tests benchmarks monitoring
typecheck:  ## mypy over src/
	.venv/bin/mypy
benchmark:  ## engine benchmark against SDV (long: about 10 minutes; runs in .venv-sdv)
	bash tools/sdv-python.sh -m benchmarks.engine_benchmark
fidelity:  ## fidelity benchmark: 6 engines x 14 tables (long: about 45 minutes; runs in .venv-sdv)
	bash tools/sdv-python.sh -m benchmarks.fidelity
control:  ## conditions and constraints against SDV (about 6 minutes; runs in .venv-sdv)
	bash tools/sdv-python.sh -m benchmarks.control
multitable:  ## linked tables against SDV HMA, 4 datasets (about 7 minutes; runs in .venv-sdv)
	bash tools/sdv-python.sh -m benchmarks.multitable
abuse:  ## resource attacks against the real service, beside a bystander tenant (about 7 minutes)
	.venv/bin/python -m benchmarks.abuse
