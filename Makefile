# Label Migration: set-up, tests, demo, install into QGIS, plugin package.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
PLUGIN := labelmigration
QGIS_PROFILE_DIR ?= $(HOME)/.local/share/QGIS/QGIS3/profiles/default
PLUGIN_LINK := $(QGIS_PROFILE_DIR)/python/plugins/$(PLUGIN)
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)
export QT_QPA_PLATFORM ?= offscreen

.PHONY: help setup test test-unit test-e2e demo demo-gui bench-migrate install uninstall package translations lint bench bench-cloudmask clean docs docs-check

help:
	@echo "make setup    install Debian packages, the .venv and the e2e test servers (idempotent)"
	@echo "make test     set up, then run the whole test suite (QGIS 3.22 here, then 3.40 and 3.44 in Debian 13 roots)"
	@echo "make demo     set up, then migrate the bundled sample label and label set into demo-output/"
	@echo "make demo-gui open QGIS with the plugin installed and the demo's outputs (demo-output/demo.qgs)"
	@echo "make install  link this checkout into the QGIS profile as '$(PLUGIN)' and enable it"
	@echo "make package  build $(PLUGIN).zip for QGIS's plugin manager"
	@echo "make translations  update i18n/$(PLUGIN)_de.ts from the sources (keeps the translations) and compile the .qm"
	@echo "make docs     regenerate README.md's algorithm reference from the algorithms' help (docs-check: only check)"

setup: $(VENV)/.setup-done
	tools/install_e2e_servers.sh

# pyarrow (exportdataset's GeoParquet index) is installed at the pin of requirements-plugin.txt, its one place.
$(VENV)/.setup-done: requirements-dev.txt requirements-training.txt requirements-plugin.txt tools/install_debian_packages.sh
	tools/install_debian_packages.sh
	test -x $(PYTHON) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r requirements-training.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check "$$(sed -n 's/^\(pyarrow==[^ ]*\).*/\1/p' requirements-plugin.txt)"
	touch $@

# The whole suite on the host's QGIS (3.22), then the unit, qgis, cli and gui tiers on QGIS 3.40 and 3.44 (test-matrix).
# A subset (PYTEST_ARGS) runs on the host only, and says so.
test: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)
	@if [ -n "$(PYTEST_ARGS)" ]; then echo "PYTEST_ARGS selects a subset: the QGIS 3.40/3.44 matrix is not run (make test-matrix runs it)"; \
	else $(MAKE) --no-print-directory test-matrix; fi

test-e2e: setup
	$(VENV)/bin/pytest tests/e2e $(PYTEST_ARGS)

test-unit: setup
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

demo: setup
	$(PYTHON) demo/run_demo.py demo-output

# QGIS desktop needs a display: without one, run it as `xvfb-run -a make demo-gui` (nothing to see,
# but it checks the project opens) or from a desktop session / `ssh -X`.
demo-gui: install
	@test -f demo-output/demo.qgs || $(MAKE) demo
	@if [ -z "$$DISPLAY" ]; then \
	  echo "make demo-gui needs a display (DISPLAY is not set): run it in a desktop session, or 'xvfb-run -a make demo-gui'"; \
	  exit 1; fi
	$(PYTHON) tools/link_packages.py demo-output/python-packages onnxruntime
	PYTHONPATH=$(CURDIR)/demo-output/python-packages QT_QPA_PLATFORM=xcb qgis --nologo demo-output/demo.qgs

install:
	mkdir -p $(dir $(PLUGIN_LINK))
	ln -sfn $(CURDIR) $(PLUGIN_LINK)
	/usr/bin/python3 tools/enable_plugin.py "$(QGIS_PROFILE_DIR)" $(PLUGIN)
	@echo "Installed: $(PLUGIN_LINK) -> $(CURDIR)"

uninstall:
	rm -f $(PLUGIN_LINK)

package:
	/usr/bin/python3 tools/package.py $(PLUGIN).zip

# pylupdate5 files the strings of the plugin's tr() helpers under the context "@default", while tr() looks
# them up under "LabelMigration": the .ts is renamed to @default for the update (so pylupdate5 keeps its
# translations) and back afterwards. The .ts is in i18n/ when pylupdate5 writes it, so the source locations
# stay relative to i18n/.
# the core marks only its backend labels (core/search/__init__.py QT_TR_NOOP); it has no Qt
I18N_SOURCES := $(wildcard *.py processing/*.py qgis_common/*.py ui/*.py) core/search/__init__.py
TS_FILES := i18n/$(PLUGIN)_de.ts

translations:
	@command -v pylupdate5 >/dev/null && command -v lrelease >/dev/null || \
	  { echo "pylupdate5 and lrelease are missing: run tools/install_debian_packages.sh"; exit 1; }
	@for ts in $(TS_FILES); do \
	  tmp=$${ts%.ts}.update.ts; \
	  if [ -f $$ts ]; then sed 's|<name>LabelMigration</name>|<name>@default</name>|' $$ts > $$tmp; else rm -f $$tmp; fi; \
	  pylupdate5 $(I18N_SOURCES) -ts $$tmp 2>/dev/null || { rm -f $$tmp; exit 1; }; \
	  sed 's|<name>@default</name>|<name>LabelMigration</name>|' $$tmp > $$ts && rm -f $$tmp; \
	  lrelease $$ts -qm $${ts%.ts}.qm || exit 1; \
	done

bench: setup
	$(PYTHON) bench/bench_safe.py

bench-migrate: setup
	$(PYTHON) bench/bench_migrate.py $(BENCH_ARGS)

bench-cloudmask: setup
	$(PYTHON) bench/bench_cloudmask.py

# bytes read over HTTP for a label from a remote EOPF Zarr product and from COGs, against the chunks/tiles it meets
.PHONY: bench-bytes
bench-bytes: setup
	$(PYTHON) bench/bench_bytes_read.py $(BENCH_ARGS)

# README.md's algorithm reference, between its BEGIN/END ALGORITHM REFERENCE markers, made from the registered
# algorithms' help (headless QGIS) and the examples and notes of tools/algorithm_notes.md; tests/qgis/test_docs.py
# fails when it is not current.
docs: $(VENV)/.setup-done
	$(PYTHON) tools/generate_docs.py

docs-check: $(VENV)/.setup-done
	$(PYTHON) tools/generate_docs.py --check

lint: setup
	$(VENV)/bin/pytest tests/unit/test_source_rules.py $(PYTEST_ARGS)

clean:
	rm -rf demo-output $(PLUGIN).zip .pytest_cache

# QGIS version matrix (tools/matrix/, needs root): builds the Debian 13 roots of QGIS 3.40 (trixie) and 3.44
# (trixie-backports) under /var/cache/labelmigration/roots when missing (reused when built), runs the unit, qgis,
# cli and gui tiers in each (MATRIX_PYTEST_ARGS overrides the pytest args, MATRIX_VERSIONS the versions) and prints a
# summary per version. Results: test-output/matrix/qgis-VERSION/.
MATRIX_VERSIONS ?= 3.40 3.44
.PHONY: test-matrix
test-matrix:
	MATRIX_PYTEST_ARGS="$(MATRIX_PYTEST_ARGS)" tools/matrix/matrix.sh $(MATRIX_VERSIONS)
