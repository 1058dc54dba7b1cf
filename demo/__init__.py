"""The guided tours on the real data, in a scratch clone: `make demo` (demo/tour.sh) and `make demo-retrain`
(demo/retrain.sh); they print what to look at and assert nothing."""
