# photoclip — `make help` lists the targets.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PILLOW_SDIST := .cache/pillow-sdist

.DEFAULT_GOAL := help
.PHONY: help run test venv venv-test lint format typecheck pytest test-data bench bench-rclip bench-scale screenshots clean
.PHONY: system-deps qt-deps install-desktop uninstall-desktop icons bundle bundle-smoke appimage

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(BIN)/photoclip: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

venv: $(BIN)/photoclip ## Create .venv and install photoclip into it

venv-test: venv ## Install the test tools too
	$(BIN)/pip install -q -e '.[test]'

run: venv ## Install (first time) and launch the app
	$(BIN)/photoclip

test: venv-test system-deps test-data lint typecheck pytest ## Install everything and run all checks and tests

lint: ## ruff lint and format check
	$(BIN)/ruff check photoclip tests tools bench packaging
	$(BIN)/ruff format --check photoclip tests tools bench packaging

format: ## Apply ruff formatting and fixes
	$(BIN)/ruff check --fix photoclip tests tools bench packaging
	$(BIN)/ruff format photoclip tests tools bench packaging

typecheck: ## mypy over the package
	$(BIN)/mypy

pytest: ## Run the test suite (fails when no test ran)
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest

test-data: $(PILLOW_SDIST)/.done ## Fetch Pillow's broken/unusual test images (its source distribution)

$(PILLOW_SDIST)/.done:
	mkdir -p $(PILLOW_SDIST)
	$(BIN)/pip download -q --no-deps --no-binary :all: -d $(PILLOW_SDIST) \
		"pillow==$$($(BIN)/python -c 'import PIL; print(PIL.__version__)')"
	cd $(PILLOW_SDIST) && tar xzf pillow-*.tar.gz --wildcards '*/Tests/images/*' && mv pillow-*/Tests/images images && rm -rf pillow-*/
	touch $@

bench: venv-test ## photoclip beside rclip, the app's first results, indexing, model, GUI and 1M-photo benchmarks (prints figures; not a test; 15 min, longer and 15 GB of disk the first time)
	$(BIN)/python -m bench.bench_rclip
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench.bench_gui --first-results --launch-runs 5
	$(BIN)/python -m bench.bench_index --skip-cli
	$(BIN)/python -m bench.bench_models
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench.bench_gui
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench.bench_timeline
	$(BIN)/python -m bench.bench_duplicates --speed
	$(BIN)/python -m bench.bench_scale

bench-scale: venv-test ## a million photos: the app's launch, ranking, memory and recall; a 100,000-file rescan
	$(BIN)/python -m bench.bench_scale

bench-rclip: venv-test ## photoclip and rclip 4.0.8 alternated on one generated library, ratios
	$(BIN)/python -m bench.bench_rclip

screenshots: venv-test system-deps ## Run the app under Xvfb on a demo library and save docs/screenshots/
	xvfb-run -a -s "-screen 0 1400x900x24" $(BIN)/python -m tools.screenshots docs/screenshots

# Validators and renderers the packaging tests run, as tool:Debian-package pairs.
SYSTEM_TOOLS := desktop-file-validate:desktop-file-utils update-desktop-database:desktop-file-utils \
	appstreamcli:appstream rsvg-convert:librsvg2-bin xvfb-run:xvfb xprop:x11-utils
# Libraries PySide6's Qt needs from a Linux system (offscreen and X11), as soname:Debian-package
# pairs. Installed before a bundle build, PyInstaller copies the X11 ones in, so the bundle
# starts on desktops that lack them (notably libxcb-cursor0).
QT_LIBS := libEGL.so.1:libegl1 libGL.so.1:libgl1 libfontconfig.so.1:libfontconfig1 \
	libglib-2.0.so.0:libglib2.0-0 libdbus-1.so.3:libdbus-1-3 libxkbcommon.so.0:libxkbcommon0 \
	libxkbcommon-x11.so.0:libxkbcommon-x11-0 libX11-xcb.so.1:libx11-xcb1 \
	libxcb-cursor.so.0:libxcb-cursor0 libxcb-icccm.so.4:libxcb-icccm4 \
	libxcb-image.so.0:libxcb-image0 libxcb-keysyms.so.1:libxcb-keysyms1 \
	libxcb-randr.so.0:libxcb-randr0 libxcb-render-util.so.0:libxcb-render-util0 \
	libxcb-shape.so.0:libxcb-shape0 libxcb-xfixes.so.0:libxcb-xfixes0 libxcb-xkb.so.1:libxcb-xkb1 \
	libxcb-glx.so.0:libxcb-glx0 libxcb-sync.so.1:libxcb-sync1 libxcb-shm.so.0:libxcb-shm0
# The fault suite's FUSE filesystem (tools/faultfs.py): fusermount3 and libfuse3 for mfusepy.
FAULT_TOOLS := fusermount3:fuse3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# $(call apt_install_missing,CHECK,PAIRS): apt-get install each package whose `CHECK NAME` fails.
define apt_install_missing
	missing=""; for pair in $(2); do \
		$(1) "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	missing=$$(printf '%s\n' $$missing | sort -u | tr '\n' ' '); \
	if command -v apt-get >/dev/null 2>&1; then \
		echo "Installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "Missing:$$missing (install them with your package manager)."; \
	fi
endef

system-deps: qt-deps ## Install the system tools the tests need (apt-get, only those missing)
	@$(call apt_install_missing,command -v,$(SYSTEM_TOOLS))
	@$(call apt_install_missing,command -v,$(FAULT_TOOLS))

qt-deps: ## Install the libraries Qt needs on Linux (apt-get, only those missing)
	@if [ "$$(uname)" = Linux ]; then \
	$(call apt_install_missing,sh -c 'PATH="$$PATH:/sbin" ldconfig -p | grep -qF "$$0"',$(QT_LIBS)); fi

install-desktop: venv ## Add photoclip to your app menu (Linux; per user, undo: uninstall-desktop)
	$(BIN)/photoclip install-desktop

uninstall-desktop: ## Remove what install-desktop added
	$(BIN)/photoclip uninstall-desktop

icons: ## Re-render the PNG/ICO/ICNS icons from resources/icons/photoclip.svg
	$(BIN)/python packaging/make_icons.py

bundle: venv qt-deps ## Build the one-folder app with PyInstaller into dist/photoclip (slow; not in test)
	$(BIN)/pip install -q -e '.[bundle]'
	$(BIN)/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
		packaging/pyinstaller/photoclip.spec

bundle-smoke: ## Check the built bundle: index and search with the tiny model, open the app
	$(BIN)/python packaging/pyinstaller/smoke_test.py dist/photoclip

appimage: ## Lay out dist/photoclip.AppDir and pack it with appimagetool if installed (Linux)
	$(BIN)/python packaging/appimage/build_appimage.py dist/photoclip

.PHONY: faults
faults: venv-test system-deps ## Fault-injection suite (issue #7), then its Reliability table
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest tests/faults --durations=0
	$(BIN)/python -m tools.reliability_table

clean: ## Remove caches and build output (keeps .venv)
	rm -rf .cache build dist .pytest_cache .mypy_cache .ruff_cache
