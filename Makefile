.PHONY: run test benchmark fidelity
run:  ## run the platform on the embedded default
	bash tools/run.sh
test:  ## install what the tests need, then lint, type-check and run every test
	bash tools/test.sh
benchmark:  ## engine benchmark against SDV (long: about 10 minutes)
	.venv/bin/python -m benchmarks.engine_benchmark
fidelity:  ## fidelity benchmark: 6 engines x 14 tables (long: about 45 minutes; needs .[sdv,bench])
	.venv/bin/python -m benchmarks.fidelity
