# Quick start: `make demo` runs the main job end to end, `make test` runs the test suite.
# Both install what is missing first (Scripts/setup.sh).

SWIFT ?= swift
# No OPENBLAS_CORETYPE here: OpenBLAS runs the best kernel of the machine (AVX-512 where present).

.PHONY: setup build demo test bench clean

setup:
	@Scripts/setup.sh --models

build: setup
	$(SWIFT) build -c release

demo: build
	.build/release/synclr pipeline --preset demo

test: setup
	$(SWIFT) test -c release

bench: build
	.build/release/synclr-bench

clean:
	rm -rf .build
