# Quick start: `make demo` runs the main job end to end, `make test` runs the test suite.
# Both install what is missing first (Scripts/setup/setup.sh).

SWIFT ?= swift
# No OPENBLAS_CORETYPE here: OpenBLAS runs the best kernel of the machine (AVX-512 where present).

.PHONY: setup build demo test bench docs check-report fuzz fuzz-libfuzzer chaos clean

setup:
	@Scripts/setup/setup.sh --models

build: setup
	$(SWIFT) build -c release

demo: build
	.build/release/synclr pipeline --preset demo

test: setup
	$(SWIFT) test -c release

bench: build
	.build/release/synclr-bench

# DocC documentation of the four libraries into docs/ (open docs/<target>/index.html through a web server).
docs: setup
	@mkdir -p docs; for t in SynTensor SynCaption SynDiffusion SynRep; do \
	  $(SWIFT) package --allow-writing-to-directory docs/$$t generate-documentation --target $$t \
	    --disable-indexing --transform-for-static-hosting --output-path docs/$$t || exit 1; \
	done
	@echo "docs: docs/<SynTensor|SynCaption|SynDiffusion|SynRep>/documentation/<target>/"

# Loads RUN/report.html (default: the demo's) in headless Chromium: no console errors, every image decodes.
RUN ?= runs/demo
check-report: build
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null)
	.build/release/synclr report $(RUN)
	Scripts/checks/check_report.sh $(RUN)

# One deterministic mutation-fuzzing target per parser (Docs/reliability.md). FUZZ_SECONDS per
# target (the issue asks 600); seeds: the test fixtures and Debian's golang-1.19-src test images.
# Findings land in .build/fuzz/TARGET/crash-*; replay one with `synclr-fuzz replay TARGET FILE`.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= safetensors gguf pth png jpeg idx captions manifest json pipeline openai
FUZZ_SEEDS ?= Scripts/checks/fuzz-seeds,Tests,/usr/share/go-1.19/src/image,/usr/share/go-1.19/src/compress,/usr/share/go-1.19/src/archive/zip/testdata,/usr/share/go-1.19/src/encoding/json/testdata,/usr/share/datasets/fashion-mnist

fuzz: setup
	$(SWIFT) build -c release --product synclr-fuzz
	@for t in $(FUZZ_TARGETS); do \
		( ulimit -v 8000000; .build/release/synclr-fuzz run $$t --seeds $(FUZZ_SEEDS) --seconds $(FUZZ_SECONDS) --out .build/fuzz ) || exit 1; \
	done

# The same targets under libFuzzer (coverage-guided; the toolchain ships its runtime): an
# instrumented build in its own folder (lld: gold crashes on the instrumented objects), then e.g.
#   .build/libfuzzer/release/synclr-fuzz libfuzzer png -max_total_time=600 CORPUS_DIR SEED_DIR
fuzz-libfuzzer: setup
	$(SWIFT) build -c release --product synclr-fuzz --build-path .build/libfuzzer -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld \
		-Xcc -fsanitize=fuzzer-no-link -Xlinker --export-dynamic -Xlinker --undefined=LLVMFuzzerRunDriver

# Kill -9 every long job at CHAOS_KILLS random points, resume it and compare its outputs byte for
# byte with an uninterrupted run (Scripts/checks/chaos.sh, Docs/reliability.md). CHAOS_JOBS: a subset.
CHAOS_KILLS ?= 20
CHAOS_JOBS ?= captions-template captions-native images diffusion-train train-synclr train-stablerep train-simclr train-supervised eval pipeline
chaos: build
	Scripts/checks/chaos.sh --kills $(CHAOS_KILLS) --jobs "$(CHAOS_JOBS)"

clean:
	rm -rf .build
