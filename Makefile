# Quick start: `make demo` runs the main job end to end, `make test` runs the test suite.
# Both install what is missing first (Scripts/setup.sh).

SWIFT ?= swift
export OPENBLAS_CORETYPE ?= Haswell

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
