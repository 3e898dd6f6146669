.PHONY: run test benchmark fidelity control abuse
run:  ## run the platform on the embedded default
	bash tools/run.sh
test:  ## install what the tests need, then lint, type-check and run every test
	bash tools/test.sh
benchmark:  ## engine benchmark against SDV (long: about 10 minutes; runs in .venv-sdv)
	bash tools/sdv-python.sh -m benchmarks.engine_benchmark
fidelity:  ## fidelity benchmark: 6 engines x 14 tables (long: about 45 minutes; runs in .venv-sdv)
	bash tools/sdv-python.sh -m benchmarks.fidelity
control:  ## conditions and constraints against SDV (about 6 minutes; runs in .venv-sdv)
	bash tools/sdv-python.sh -m benchmarks.control
abuse:  ## resource attacks against the real service, beside a bystander tenant (about 7 minutes)
	.venv/bin/python -m benchmarks.abuse
