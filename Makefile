# Quick start: `make demo` runs the main job end to end, `make test` runs the test suite.
# Both install what is missing first (Scripts/setup.sh).

SWIFT ?= swift
export OPENBLAS_CORETYPE ?= Haswell

.PHONY: setup build demo test bench docs check-report clean

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
	Scripts/check_report.sh $(RUN)

clean:
	rm -rf .build
