"""The data tier's allow-lists: what a program may use of numpy, pandas and matplotlib.

Plain data, like ``catalogue.py`` (same rules, same reasons), read by the validator and the
worker. Allow-list: a module member, or an attribute of an instance of a data-library
class, exists in the sandbox only if it is listed as allowed here; every module rule has
``others`` so that the hundreds of members nobody listed are refused with that reason.

Instance attributes: an instance's readable names are the union of the entries of the
classes in its MRO (keyed ``cls.__module__ + "." + cls.__qualname__``); a class of these
libraries with no entry in its MRO has no readable attribute at all. Writable and guarded
names are listed apart. Names starting with ``_`` are never readable.

Families refused, each named in its reason: raw memory (views built on chosen bytes,
pointers, strides, ctypes, memmap, records, buffer exports, uninitialised memory);
pickle; strings evaluated (pd.eval, DataFrame.eval; query is guarded); templates
(Styler, to_latex, to_html); imports by name and pivots into the libraries' internals
(submodules, registries, extension APIs, backends); files outside the guarded readers and
writers, or in formats that are not installed; interactive GUI machinery (figure managers,
event loops, callbacks); transforms and canvases (objects that reach the renderer).
"""

from __future__ import annotations

from .catalogue import CONSTANTS, GUARDED, PURE, ModuleRule, allow, refuse, rule

#: Reasons of this tier.
RAW_MEMORY = "raw memory: builds arrays on chosen bytes or addresses, or hands out pointers and buffers"
PICKLE = "pickle: loading runs code chosen by the data"
EVALUATED = "strings evaluated: an expression language that reads attributes outside the guards"
TEMPLATES = "templates: Styler/jinja2 rendering and markup writers"
PIVOT = "imports by name and pivots: a module object or an internal/extension API, never copied"
FILES = "files: a format that is not installed or not wanted, or a path outside the guarded readers"
INTERACTIVE = "interactive GUI machinery: figure managers, event loops and callbacks (the backend is Agg)"
HOST = "host information: paths, build configuration, installed versions"
TRANSFORMS = "transforms, canvases and renderers: reach the drawing machinery, not data"
SETTERS_BY_NAME = GUARDED + "calls set_<name> for each keyword: only the setters listed as readable here"
IN_THE_WORKDIR = GUARDED + "paths inside the working directory only: "
DATA_METHOD = "ordinary analysis on the data the object holds: " + PURE

#: Top-level packages of the data tier.
DATA_LIBRARIES: tuple[str, ...] = ("numpy", "pandas", "matplotlib")

# fmt: off
DATA_CATALOGUE: dict[str, ModuleRule] = {
    "numpy": rule(
        allow(
            "array creation, shape manipulation, sorting and searching: " + PURE,
            "arange", "array", "asanyarray", "asarray", "asarray_chkfinite", "ascontiguousarray", "asfortranarray",
            "astype", "atleast_1d", "atleast_2d", "atleast_3d", "append", "argpartition", "argsort", "argwhere",
            "array_split", "block", "broadcast", "broadcast_arrays", "broadcast_shapes", "broadcast_to", "choose",
            "column_stack", "compress", "concat", "concatenate", "copy", "copyto", "delete", "diag", "diag_indices",
            "diag_indices_from", "diagflat", "diagonal", "dsplit", "dstack", "expand_dims", "extract", "eye",
            "fill_diagonal", "flatnonzero", "flip", "fliplr", "flipud", "fromfunction", "fromiter", "full", "full_like",
            "geomspace", "hsplit", "hstack", "identity", "indices", "insert", "isin", "ix_", "lexsort", "linspace",
            "logspace", "mask_indices", "matrix_transpose", "meshgrid", "moveaxis", "ndenumerate", "ndindex", "nonzero",
            "ones", "ones_like", "pad", "partition", "permute_dims", "place", "put", "put_along_axis", "putmask",
            "ravel", "ravel_multi_index", "repeat", "require", "reshape", "resize", "roll", "rollaxis", "rot90",
            "row_stack", "searchsorted", "select", "sort", "sort_complex", "split", "squeeze", "stack", "swapaxes",
            "take", "take_along_axis", "tile", "transpose", "tri", "tril", "tril_indices", "tril_indices_from",
            "trim_zeros", "triu", "triu_indices", "triu_indices_from", "unravel_index", "unstack", "vsplit", "vstack",
            "where", "zeros", "zeros_like", "c_", "r_", "s_", "index_exp", "mgrid", "ogrid",
        ),
        allow(
            "statistics, sets, polynomials and linear algebra helpers: " + PURE,
            "all", "allclose", "amax", "amin", "any", "apply_along_axis", "apply_over_axes", "argmax", "argmin",
            "array_equal", "array_equiv", "average", "bartlett", "bincount", "blackman", "convolve", "corrcoef",
            "correlate", "count_nonzero", "cov", "cross", "cumprod", "cumsum", "cumulative_prod", "cumulative_sum",
            "diff", "digitize", "dot", "ediff1d", "einsum", "einsum_path", "gradient", "hamming", "hanning",
            "histogram", "histogram2d", "histogram_bin_edges", "histogramdd", "i0", "inner", "interp", "intersect1d",
            "isclose", "iscomplex", "iscomplexobj", "isfortran", "isneginf", "isposinf", "isreal", "isrealobj",
            "isscalar", "iterable", "kaiser", "kron", "matmul", "matvec", "max", "may_share_memory", "mean", "median",
            "min", "nan_to_num", "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmedian",
            "nanmin", "nanpercentile", "nanprod", "nanquantile", "nanstd", "nansum", "nanvar", "ndim", "outer",
            "percentile", "piecewise", "poly", "poly1d", "polyadd", "polyder", "polydiv", "polyfit", "polyint",
            "polymul", "polysub", "polyval", "prod", "ptp", "quantile", "real_if_close", "roots", "round", "around",
            "setdiff1d", "setxor1d", "shape", "shares_memory", "sinc", "size", "std", "sum", "tensordot", "trace",
            "trapezoid", "union1d", "unique", "unique_all", "unique_counts", "unique_inverse", "unique_values",
            "unwrap", "vander", "var", "vdot", "vecdot", "vecmat", "angle", "imag", "real", "packbits", "unpackbits",
        ),
        allow(
            "universal functions (elementwise maths) and the ufunc class: " + PURE,
            "abs", "absolute", "acos", "acosh", "add", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
            "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and", "bitwise_count", "bitwise_invert",
            "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "cbrt", "ceil",
            "clip", "conj", "conjugate", "copysign", "cos", "cosh", "deg2rad", "degrees", "divide", "divmod", "equal",
            "exp", "exp2", "expm1", "fabs", "fix", "float_power", "floor", "floor_divide", "fmax", "fmin", "fmod",
            "frexp", "gcd", "greater", "greater_equal", "heaviside", "hypot", "invert", "isfinite", "isinf", "isnan",
            "isnat", "lcm", "ldexp", "left_shift", "less", "less_equal", "log", "log10", "log1p", "log2", "logaddexp",
            "logaddexp2", "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "mod",
            "modf", "multiply", "negative", "nextafter", "not_equal", "positive", "pow", "power", "rad2deg",
            "radians", "reciprocal", "remainder", "right_shift", "rint", "sign", "signbit", "sin", "sinh", "spacing",
            "sqrt", "square", "subtract", "tan", "tanh", "true_divide", "trunc", "ufunc",
        ),
        allow(
            "calls the program's own function element by element, like map(): the function runs as restricted code",
            "frompyfunc", "vectorize",
        ),
        allow(
            "dtypes, scalar types and type queries: " + PURE,
            "bool", "bool_", "byte", "bytes_", "can_cast", "cdouble", "character", "clongdouble", "common_type",
            "complex128", "complex256", "complex64", "complexfloating", "csingle", "datetime64", "double", "dtype",
            "False_", "True_", "finfo", "flexible", "float128", "float16", "float32", "float64", "floating", "generic",
            "half", "iinfo", "inexact", "int16", "int32", "int64", "int8", "int_", "intc", "integer", "intp",
            "isdtype", "issubdtype", "long", "longdouble", "longlong", "min_scalar_type", "mintypecode", "number",
            "object_", "promote_types", "result_type", "short", "signedinteger", "single", "str_", "timedelta64",
            "typename", "ubyte", "uint", "uint16", "uint32", "uint64", "uint8", "uintc", "uintp", "ulong",
            "ulonglong", "unsignedinteger", "ushort", "void", "flatiter",
        ),
        allow(
            "dates and business days: " + PURE,
            "busday_count", "busday_offset", "busdaycalendar", "datetime_as_string", "datetime_data", "is_busday",
        ),
        allow(
            "printing and floating-point error settings of this execution (the worker is forked per run)",
            "array2string", "array_repr", "array_str", "base_repr", "binary_repr", "errstate",
            "format_float_positional", "format_float_scientific", "get_printoptions", "getbufsize", "geterr",
            "printoptions", "set_printoptions", "setbufsize", "seterr",
        ),
        allow(CONSTANTS, "e", "euler_gamma", "inf", "little_endian", "nan", "newaxis", "pi", "ScalarType", "sctypeDict",
              "typecodes"),
        allow(GUARDED + "zero-filled: uninitialised memory would show the worker's freed heap", "empty", "empty_like"),
        allow(GUARDED + "object dtypes refused (numpy itself refuses them for frombuffer)", "frombuffer"),
        allow(
            GUARDED + "an isinstance-only stand-in: ndarray(shape, dtype=object, buffer=chosen bytes) builds "
            "object references from the bytes",
            "ndarray",
        ),
        allow(
            IN_THE_WORKDIR + "allow_pickle is always False",
            "genfromtxt", "load", "loadtxt", "save", "savetxt", "savez", "savez_compressed",
        ),
        refuse(RAW_MEMORY, "ctypeslib", "from_dlpack", "memmap", "nditer", "nested_iters", "rec", "recarray", "record",
               "char", "lib"),
        refuse(FILES + " (reads a file or raw bytes outside the guarded readers)", "fromfile", "fromregex",
               "fromstring"),
        refuse(EVALUATED + " (bmat evaluates names in the caller's frame)", "bmat", "asmatrix", "matrix"),
        refuse("stores a callable numpy calls later from C on every floating-point error", "geterrcall", "seterrcall"),
        refuse(HOST, "get_include", "show_config", "show_runtime", "info", "test"),
        refuse(PIVOT + " (numpy.linalg, numpy.random and numpy.fft are imported as entries of their own)",
               "core", "dtypes", "emath", "exceptions", "f2py", "fft", "linalg", "ma", "polynomial", "random",
               "strings", "testing", "typing"),
        others="numpy's internals, raw-memory and file routes, and names nobody reviewed",
    ),
    "numpy.linalg": rule(
        allow(
            "linear algebra: " + PURE,
            "cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq",
            "matmul", "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer",
            "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace",
            "vecdot", "vector_norm",
        ),
        allow("exceptions", "LinAlgError"),
        refuse(HOST, "test"),
        others="numpy.linalg's internals",
    ),
    "numpy.random": rule(
        allow(
            "random generators: the worker is forked per run and reseeds, so no two executions share a stream",
            "default_rng", "Generator", "RandomState", "SeedSequence", "PCG64", "MT19937",
        ),
        allow(
            "the legacy global generator's samplers",
            "beta", "binomial", "bytes", "chisquare", "choice", "dirichlet", "exponential", "f", "gamma", "geometric",
            "get_state", "gumbel", "hypergeometric", "laplace", "logistic", "lognormal", "logseries", "multinomial",
            "multivariate_normal", "negative_binomial", "noncentral_chisquare", "noncentral_f", "normal", "pareto",
            "permutation", "poisson", "power", "rand", "randint", "randn", "random", "random_integers",
            "random_sample", "ranf", "rayleigh", "sample", "seed", "shuffle", "standard_cauchy",
            "standard_exponential", "standard_gamma", "standard_normal", "standard_t", "triangular", "uniform",
            "vonmises", "wald", "weibull", "zipf",
        ),
        refuse(
            "restores the generator's C state from the program's tuple unchecked: a position past the key reads "
            "the worker's heap (seed() gives reproducible streams)",
            "set_state",
        ),
        refuse(
            RAW_MEMORY + " (bit generators expose ctypes/cffi function pointers and capsules)",
            "BitGenerator", "PCG64DXSM", "Philox", "SFC64", "get_bit_generator", "set_bit_generator",
        ),
        refuse(PIVOT, "bit_generator", "mtrand"),
        refuse(HOST, "test"),
        others="numpy.random's internals",
    ),
    "numpy.fft": rule(
        allow(
            "discrete Fourier transforms: " + PURE,
            "fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn", "ifftshift", "ihfft",
            "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn",
        ),
        refuse(HOST, "test"),
        others="numpy.fft's internals",
    ),
    "pandas": rule(
        allow(
            "data structures, indexes, scalars and dtypes",
            "BooleanDtype", "Categorical", "CategoricalDtype", "CategoricalIndex", "DataFrame", "DateOffset",
            "DatetimeIndex", "DatetimeTZDtype", "Float32Dtype", "Float64Dtype", "Grouper", "Index", "IndexSlice",
            "Int16Dtype", "Int32Dtype", "Int64Dtype", "Int8Dtype", "Interval", "IntervalDtype", "IntervalIndex",
            "MultiIndex", "NA", "NaT", "NamedAgg", "Period", "PeriodDtype", "PeriodIndex", "RangeIndex", "Series",
            "StringDtype", "Timedelta", "TimedeltaIndex", "Timestamp", "UInt16Dtype", "UInt32Dtype", "UInt64Dtype",
            "UInt8Dtype",
        ),
        allow(
            "reshaping, combining, conversion and missing-data functions: " + PURE,
            "array", "bdate_range", "concat", "cut", "date_range", "factorize", "from_dummies",
            "get_dummies", "infer_freq", "interval_range", "isna", "isnull", "json_normalize", "lreshape", "melt",
            "merge", "merge_asof", "merge_ordered", "notna", "notnull", "period_range", "pivot", "qcut",
            "timedelta_range", "to_datetime", "to_numeric", "to_timedelta", "unique", "wide_to_long",
        ),
        allow(
            GUARDED + "aggfunc given as a string names only public aggregations: pandas reads it with the real "
            "getattr (pivot_table(aggfunc='_constructor') reached a private attribute)",
            "crosstab", "pivot_table",
        ),
        allow(IN_THE_WORKDIR + "text formats read with the C or Python engine", "read_csv", "read_fwf", "read_json",
              "read_table"),
        allow(
            GUARDED + "display.* options only (other options switch engines and backends)",
            "option_context", "reset_option", "set_option",
        ),
        allow("reading an option's value or description", "describe_option", "get_option"),
        allow("sets the display.float_format option to an engineering formatter", "set_eng_float_format"),
        refuse(PICKLE, "read_pickle", "to_pickle"),
        refuse(EVALUATED, "eval"),
        refuse(
            FILES, "ExcelFile", "ExcelWriter", "HDFStore", "read_clipboard", "read_excel", "read_feather", "read_hdf",
            "read_html", "read_iceberg", "read_orc", "read_parquet", "read_sas", "read_spss", "read_sql",
            "read_sql_query", "read_sql_table", "read_stata", "read_xml",
        ),
        refuse(
            PIVOT + " (df.plot is the plotting accessor; set_option is the guarded way to options)",
            "api", "arrays", "compat", "core", "errors", "io", "offsets", "options", "pandas", "plotting",
            "testing", "tseries", "util",
        ),
        refuse(FILES + " (needs pyarrow, not installed)", "ArrowDtype"),
        refuse(PIVOT + " (extension types and the expression API)", "Flags", "NamedFunc", "SparseDtype", "col"),
        refuse(HOST, "show_versions", "test"),
        others="pandas' internals, extension APIs and names nobody reviewed",
    ),
    "matplotlib": rule(
        allow(GUARDED + "the Agg backend only: other backends open windows or load GUI toolkits", "use"),
        allow(GUARDED + "a mapping that refuses backend, path and interactive keys", "rc_context", "rcParams"),
        allow("the backend's name ('agg')", "get_backend"),
        allow("registries of colormaps and colour sequences: reading and lookup (register is refused)",
              "color_sequences", "colormaps"),
        refuse(
            FILES + " (style and rc files, the configuration and cache directories)",
            "get_cachedir", "get_configdir", "get_data_path", "matplotlib_fname", "rc_file", "rc_file_defaults",
            "rc_params", "rc_params_from_file",
        ),
        refuse(INTERACTIVE, "interactive", "is_interactive"),
        refuse("resets every rc setting, the backend included", "rcdefaults", "rcParamsDefault", "rcParamsOrig",
               "defaultParams"),
        refuse("logging configuration of the worker", "set_loglevel"),
        others="matplotlib's submodules (module objects are never copied; matplotlib.pyplot and matplotlib.style are "
        "entries of their own), backends, font and file machinery, and names nobody reviewed",
    ),
    "matplotlib.pyplot": rule(
        allow(
            "figures and axes of this execution (the backend is Agg: nothing is shown)",
            "axes", "cla", "clf", "close", "delaxes", "figaspect", "figure", "fignum_exists", "gca", "gcf", "gci",
            "get_figlabels", "get_fignums", "sca", "sci", "subplot", "subplot2grid", "subplot_mosaic", "subplots",
            "subplots_adjust", "suptitle", "tight_layout", "twinx", "twiny",
        ),
        allow(
            "plotting functions on the current axes: data in, artists out",
            "acorr", "angle_spectrum", "annotate", "arrow", "axhline", "axhspan", "axline", "axvline", "axvspan",
            "bar", "bar_label", "barbs", "barh", "boxplot", "broken_barh", "clabel", "cohere", "contour", "contourf",
            "csd", "ecdf", "errorbar", "eventplot", "figimage", "figlegend", "figtext", "fill", "fill_between",
            "fill_betweenx", "grouped_bar", "hexbin", "hist", "hist2d", "hlines", "imshow", "loglog",
            "magnitude_spectrum", "matshow", "pcolor", "pcolormesh", "phase_spectrum", "pie", "pie_label", "plot",
            "polar", "psd", "quiver", "quiverkey", "scatter", "semilogx", "semilogy", "specgram", "spy", "stackplot",
            "stairs", "stem", "step", "streamplot", "table", "text", "tricontour", "tricontourf", "tripcolor",
            "triplot", "violinplot", "vlines", "xcorr",
        ),
        allow(
            "labels, limits, ticks, scales, legends and colours of the current axes",
            "autoscale", "axis", "box", "clim", "colorbar", "grid", "legend", "locator_params", "margins",
            "minorticks_off", "minorticks_on", "rgrids", "thetagrids", "tick_params", "ticklabel_format", "title",
            "xlabel", "xlim", "xscale", "xticks", "ylabel", "ylim", "yscale", "yticks", "set_cmap", "get_cmap",
            "colormaps", "color_sequences", "autumn", "bone", "cool", "copper", "flag", "gray", "hot", "hsv",
            "inferno", "jet", "magma", "nipy_spectral", "pink", "plasma", "prism", "spring", "summer", "viridis",
            "winter", "xkcd", "get_plot_commands", "get_scale_names", "get_backend",
        ),
        allow(IN_THE_WORKDIR + "image and figure files", "imread", "imsave", "savefig"),
        allow(GUARDED + "a no-op: the figures are collected when the run ends", "show"),
        allow(GUARDED + "a mapping that refuses backend, path and interactive keys", "rcParams", "rc", "rc_context"),
        refuse(
            INTERACTIVE, "connect", "disconnect", "draw", "draw_all", "draw_if_interactive", "get_current_fig_manager",
            "ginput", "install_repl_displayhook", "interactive", "ioff", "ion", "isinteractive", "new_figure_manager",
            "pause", "subplot_tool", "uninstall_repl_displayhook", "waitforbuttonpress", "switch_backend",
            "backend_registry", "Button", "Slider", "Widget",
        ),
        refuse(
            "set or read any property by name (transforms and canvas included), or return arbitrary objects",
            "get", "getp", "setp", "findobj",
        ),
        refuse("resets every rc setting, the backend included", "rcdefaults", "rcParamsDefault", "rcParamsOrig"),
        refuse("logging configuration of the worker", "set_loglevel"),
        refuse(
            PIVOT + " (use plt.colormaps['viridis'] or plt.get_cmap for colormaps; import matplotlib.style)",
            "cbook", "cm", "functools", "importlib", "inspect", "logging", "matplotlib", "mlab", "np", "rcsetup",
            "sys", "threading", "time",
        ),
        allow(
            "pyplot's own name for the matplotlib.style entry (plt.style.use): that module's proxy, not the module",
            "style",
        ),
        others="pyplot's re-exported classes and helpers (artists, locators, formatters, widgets, typing names), "
        "and names nobody reviewed",
    ),
    "matplotlib.style": rule(
        allow(GUARDED + "built-in style names only: a path or URL would read a file", "context", "use"),
        allow("the names of the built-in styles", "available"),
        refuse(
            FILES + " (the user style directories and style files)",
            "USER_LIBRARY_PATHS", "library", "rc_params_from_file", "read_style_directory", "reload_library",
            "update_user_library",
        ),
        others="matplotlib.style's imports and helpers",
    ),
}

#: Readable public attributes of instances, per defining class (see the module docstring).
INSTANCE_ATTRIBUTES: dict[str, frozenset[str]] = {
    # Not: base (another array's memory owner), ctypes/data (pointers, buffers), dump/dumps (pickle),
    # getfield/setfield, setflags/flags (writeability), tofile, resize (refcheck=False frees memory views
    # still use). view is kept: numpy 2.4 refuses every view that adds or moves object fields.
    "numpy.ndarray": frozenset({
        "T", "all", "any", "argmax", "argmin", "argpartition", "argsort", "astype", "byteswap", "choose", "clip",
        "compress", "conj", "conjugate", "copy", "cumprod", "cumsum", "device", "diagonal", "dot", "dtype", "fill",
        "flat", "flatten", "imag", "item", "itemsize", "mT", "max", "mean", "min", "nbytes", "ndim", "nonzero",
        "partition", "prod", "put", "ravel", "real", "repeat", "reshape", "round", "searchsorted", "shape", "size",
        "sort", "squeeze", "std", "strides", "sum", "swapaxes", "take", "to_device", "tobytes", "tolist", "trace",
        "transpose", "var", "view",
    }),
    "numpy.generic": frozenset({
        "T", "all", "any", "argmax", "argmin", "argsort", "astype", "byteswap", "choose", "clip", "compress", "conj",
        "conjugate", "copy", "cumprod", "cumsum", "device", "diagonal", "dtype", "fill", "flat", "flatten", "imag",
        "item", "itemsize", "max", "mean", "min", "nbytes", "ndim", "nonzero", "prod", "put", "ravel", "real",
        "repeat", "reshape", "round", "searchsorted", "shape", "size", "sort", "squeeze", "std", "strides", "sum",
        "swapaxes", "take", "to_device", "tobytes", "tolist", "trace", "transpose", "var", "view",
    }),
    "numpy.integer": frozenset({"denominator", "is_integer", "numerator"}),
    "numpy.dtype": frozenset({
        "alignment", "base", "byteorder", "char", "descr", "fields", "hasobject", "isalignedstruct", "isbuiltin",
        "isnative", "itemsize", "kind", "name", "names", "ndim", "newbyteorder", "num", "shape", "str", "subdtype",
        "type",
    }),
    "numpy.flatiter": frozenset({"coords", "copy", "index"}),
    # Not bit_generator: its ctypes/cffi/capsule hand out function pointers.
    "numpy.random._generator.Generator": frozenset({
        "beta", "binomial", "bytes", "chisquare", "choice", "dirichlet", "exponential", "f", "gamma", "geometric",
        "gumbel", "hypergeometric", "integers", "laplace", "logistic", "lognormal", "logseries", "multinomial",
        "multivariate_hypergeometric", "multivariate_normal", "negative_binomial", "noncentral_chisquare",
        "noncentral_f", "normal", "pareto", "permutation", "permuted", "poisson", "power", "random", "rayleigh",
        "shuffle", "spawn", "standard_cauchy", "standard_exponential", "standard_gamma", "standard_normal",
        "standard_t", "triangular", "uniform", "vonmises", "wald", "weibull", "zipf",
    }),
    "numpy.random.mtrand.RandomState": frozenset({
        "beta", "binomial", "bytes", "chisquare", "choice", "dirichlet", "exponential", "f", "gamma", "geometric",
        "get_state", "gumbel", "hypergeometric", "laplace", "logistic", "lognormal", "logseries", "multinomial",
        "multivariate_normal", "negative_binomial", "noncentral_chisquare", "noncentral_f", "normal", "pareto",
        "permutation", "poisson", "power", "rand", "randint", "randn", "random", "random_integers", "random_sample",
        "rayleigh", "seed", "shuffle", "standard_cauchy", "standard_exponential", "standard_gamma",
        "standard_normal", "standard_t", "tomaxint", "triangular", "uniform", "vonmises", "wald", "weibull", "zipf",
    }),
    "numpy.ufunc": frozenset({
        "accumulate", "at", "identity", "nargs", "nin", "nout", "ntypes", "outer", "reduce", "reduceat",
        "resolve_dtypes", "signature", "types",
    }),
    "numpy.finfo": frozenset({
        "bits", "dtype", "eps", "epsneg", "iexp", "machep", "max", "maxexp", "min", "minexp", "negep", "nexp",
        "nmant", "precision", "resolution", "smallest_normal", "smallest_subnormal", "tiny",
    }),
    "numpy.iinfo": frozenset({"bits", "dtype", "kind", "max", "min"}),
    "numpy.linalg._linalg.EigResult": frozenset({"count", "eigenvalues", "eigenvectors", "index"}),
    "numpy.linalg._linalg.EighResult": frozenset({"count", "eigenvalues", "eigenvectors", "index"}),
    "numpy.linalg._linalg.SVDResult": frozenset({"S", "U", "Vh", "count", "index"}),
    "numpy.linalg._linalg.QRResult": frozenset({"Q", "R", "count", "index"}),
    "numpy.linalg._linalg.SlogdetResult": frozenset({"count", "index", "logabsdet", "sign"}),
    # Not: eval (strings evaluated), style/to_latex/to_html (templates), to_pickle (pickle), to_records
    # (recarray), to_excel/to_parquet/to_sql/to_hdf/... (files), sparse/struct/list/array (extension APIs), flags.
    "pandas.DataFrame": frozenset({
        "T", "abs", "add", "add_prefix", "add_suffix", "agg", "aggregate", "align", "all", "any", "apply", "asfreq",
        "asof", "assign", "astype", "at", "at_time", "attrs", "axes", "between_time", "bfill", "boxplot", "clip",
        "columns", "combine", "combine_first", "compare", "convert_dtypes", "copy", "corr", "corrwith", "count",
        "cov", "cummax", "cummin", "cumprod", "cumsum", "describe", "diff", "div", "divide", "dot", "drop",
        "drop_duplicates", "droplevel", "dropna", "dtypes", "duplicated", "empty", "eq", "equals", "ewm", "expanding",
        "explode", "ffill", "fillna", "filter", "first_valid_index", "floordiv", "from_dict", "from_records", "ge",
        "get", "groupby", "gt", "head", "hist", "iat", "idxmax", "idxmin", "iloc", "index", "infer_objects", "info",
        "insert", "interpolate", "isetitem", "isin", "isna", "isnull", "items", "iterrows", "itertuples", "join",
        "keys", "kurt", "kurtosis", "last_valid_index", "le", "loc", "lt", "map", "mask", "max", "mean", "median",
        "melt", "memory_usage", "merge", "min", "mod", "mode", "mul", "multiply", "ndim", "ne", "nlargest", "notna",
        "notnull", "nsmallest", "nunique", "pct_change", "pipe", "pivot", "pivot_table", "plot", "pop", "pow", "prod",
        "product", "quantile", "query", "radd", "rank", "rdiv", "reindex", "reindex_like", "rename", "rename_axis",
        "reorder_levels", "replace", "resample", "reset_index", "rfloordiv", "rmod", "rmul", "rolling", "round",
        "rpow", "rsub", "rtruediv", "sample", "select_dtypes", "sem", "set_axis", "set_index", "shape",
        "shift", "size", "skew", "sort_index", "sort_values", "squeeze", "stack", "std", "sub", "subtract", "sum",
        "swaplevel", "tail", "take", "to_csv", "to_dict", "to_json", "to_numpy", "to_period", "to_string",
        "to_timestamp", "transform", "transpose", "truediv", "truncate", "tz_convert", "tz_localize", "unstack",
        "update", "value_counts", "values", "var", "where", "xs",
    }),
    "pandas.Series": frozenset({
        "T", "abs", "add", "add_prefix", "add_suffix", "agg", "aggregate", "align", "all", "any", "apply", "argmax",
        "argmin", "argsort", "asfreq", "asof", "astype", "at", "at_time", "attrs", "autocorr", "axes", "between",
        "between_time", "bfill", "case_when", "cat", "clip", "combine", "combine_first", "compare", "convert_dtypes",
        "copy", "corr", "count", "cov", "cummax", "cummin", "cumprod", "cumsum", "describe", "diff", "div", "divide",
        "divmod", "dot", "drop", "drop_duplicates", "droplevel", "dropna", "dt", "dtype", "dtypes", "duplicated",
        "empty", "eq", "equals", "ewm", "expanding", "explode", "factorize", "ffill", "fillna", "filter",
        "first_valid_index", "floordiv", "ge", "get", "groupby", "gt", "hasnans", "head", "hist", "iat", "idxmax",
        "idxmin", "iloc", "index", "infer_objects", "info", "interpolate", "is_monotonic_decreasing",
        "is_monotonic_increasing", "is_unique", "isin", "isna", "isnull", "item", "items", "keys", "kurt", "kurtosis",
        "last_valid_index", "le", "loc", "lt", "map", "mask", "max", "mean", "median", "memory_usage", "min", "mod",
        "mode", "mul", "multiply", "name", "nbytes", "ndim", "ne", "nlargest", "notna", "notnull", "nsmallest",
        "nunique", "pct_change", "pipe", "plot", "pop", "pow", "prod", "product", "quantile", "radd", "rank", "rdiv",
        "rdivmod", "reindex", "reindex_like", "rename", "rename_axis", "reorder_levels", "repeat", "replace",
        "resample", "reset_index", "rfloordiv", "rmod", "rmul", "rolling", "round", "rpow", "rsub", "rtruediv",
        "sample", "searchsorted", "sem", "set_axis", "shape", "shift", "size", "skew", "sort_index", "sort_values",
        "squeeze", "std", "str", "sub", "subtract", "sum", "swaplevel", "tail", "take", "to_csv", "to_dict",
        "to_frame", "to_json", "to_list", "to_numpy", "to_period", "to_string", "to_timestamp", "tolist", "transform",
        "transpose", "truediv", "truncate", "tz_convert", "tz_localize", "unique", "unstack", "update",
        "value_counts", "values", "var", "where", "xs",
    }),
    # Not view (numpy views by another name).
    "pandas.Index": frozenset({
        "T", "all", "any", "append", "argmax", "argmin", "argsort", "asof", "asof_locs", "astype", "copy", "delete",
        "diff", "difference", "drop", "drop_duplicates", "droplevel", "dropna", "dtype", "duplicated", "empty",
        "equals", "factorize", "fillna", "get_indexer", "get_indexer_for", "get_indexer_non_unique",
        "get_level_values", "get_loc", "get_slice_bound", "groupby", "has_duplicates", "hasnans", "identical",
        "infer_objects", "inferred_type", "insert", "intersection", "is_", "is_monotonic_decreasing",
        "is_monotonic_increasing", "is_unique", "isin", "isna", "isnull", "item", "join", "map", "max",
        "memory_usage", "min", "name", "names", "nbytes", "ndim", "nlevels", "notna", "notnull", "nunique", "putmask",
        "ravel", "reindex", "rename", "repeat", "replace", "round", "searchsorted", "set_names", "shape", "shift",
        "size", "slice_indexer", "slice_locs", "sort_values", "sortlevel", "str", "symmetric_difference", "take",
        "to_flat_index", "to_frame", "to_list", "to_numpy", "to_series", "tolist", "transpose", "union", "unique",
        "value_counts", "values", "where",
    }),
    "pandas.MultiIndex": frozenset({
        "codes", "dtypes", "equal_levels", "from_arrays", "from_frame", "from_product", "from_tuples",
        "get_loc_level", "get_locs", "levels", "levshape", "remove_unused_levels", "reorder_levels", "set_codes",
        "set_levels", "swaplevel", "truncate",
    }),
    "pandas.DatetimeIndex": frozenset({
        "as_unit", "ceil", "date", "day", "day_name", "day_of_week", "day_of_year", "dayofweek", "dayofyear",
        "days_in_month", "daysinmonth", "floor", "freq", "freqstr", "hour", "indexer_at_time", "indexer_between_time",
        "inferred_freq", "is_leap_year", "is_month_end", "is_month_start", "is_normalized", "is_quarter_end",
        "is_quarter_start", "is_year_end", "is_year_start", "isocalendar", "mean", "microsecond", "minute", "month",
        "month_name", "nanosecond", "normalize", "quarter", "resolution", "second", "snap", "std", "strftime", "time",
        "timetz", "to_julian_date", "to_period", "to_pydatetime", "tz", "tz_convert", "tz_localize", "tzinfo", "unit",
        "weekday", "year",
    }),
    "pandas.TimedeltaIndex": frozenset({
        "as_unit", "ceil", "components", "days", "floor", "freq", "freqstr", "inferred_freq", "mean",
        "median", "microseconds", "nanoseconds", "resolution", "seconds", "std", "sum", "to_pytimedelta",
        "total_seconds", "unit",
    }),
    "pandas.PeriodIndex": frozenset({
        "asfreq", "day", "day_of_week", "day_of_year", "dayofweek", "dayofyear", "days_in_month",
        "daysinmonth", "end_time", "freq", "freqstr", "hour", "is_leap_year", "mean", "minute", "month", "quarter",
        "qyear", "resolution", "second", "start_time", "strftime", "to_timestamp", "week", "weekday", "weekofyear",
        "year",
    }),
    "pandas.CategoricalIndex": frozenset({
        "add_categories", "as_ordered", "as_unordered", "categories", "codes", "ordered", "remove_categories",
        "remove_unused_categories", "rename_categories", "reorder_categories", "set_categories",
    }),
    "pandas.IntervalIndex": frozenset({
        "closed", "closed_left", "closed_right", "contains", "is_empty", "is_non_overlapping_monotonic",
        "is_overlapping", "left", "length", "mid", "open_left", "open_right", "overlaps", "right", "set_closed",
        "to_tuples",
    }),
    "pandas.RangeIndex": frozenset({"start", "step", "stop"}),
    "pandas.Timestamp": frozenset({
        "as_unit", "asm8", "astimezone", "ceil", "ctime", "date", "day", "day_name", "day_of_week",
        "day_of_year", "dayofweek", "dayofyear", "days_in_month", "daysinmonth", "dst", "floor", "fold", "hour",
        "is_leap_year", "is_month_end", "is_month_start", "is_quarter_end", "is_quarter_start", "is_year_end",
        "is_year_start", "isocalendar", "isoformat", "isoweekday", "microsecond", "minute", "month", "month_name",
        "nanosecond", "normalize", "quarter", "replace", "round", "second", "strftime", "time", "timestamp",
        "timetuple", "timetz", "to_datetime64", "to_julian_date", "to_numpy", "to_period", "to_pydatetime",
        "toordinal", "tz", "tz_convert", "tz_localize", "tzinfo", "tzname", "unit", "utcoffset", "value", "week",
        "weekday", "weekofyear", "year",
    }),
    "pandas.Timedelta": frozenset({
        "as_unit", "asm8", "ceil", "components", "days", "floor", "isoformat", "microseconds", "nanoseconds",
        "resolution_string", "round", "seconds", "to_numpy", "to_pytimedelta", "to_timedelta64", "total_seconds",
        "unit", "value",
    }),
    "pandas.Period": frozenset({
        "asfreq", "day", "day_of_week", "day_of_year", "dayofweek", "dayofyear", "days_in_month", "daysinmonth",
        "end_time", "freq", "freqstr", "hour", "is_leap_year", "minute", "month", "ordinal", "quarter", "qyear",
        "second", "start_time", "strftime", "to_timestamp", "week", "weekday", "weekofyear", "year",
    }),
    "pandas.api.typing.NaTType": frozenset({
        "asm8", "ceil", "date", "day", "day_name", "dayofweek", "dayofyear", "floor", "hour", "isoformat", "minute",
        "month", "month_name", "quarter", "round", "second", "strftime", "to_datetime64", "to_numpy",
        "to_pydatetime", "total_seconds", "tz", "tz_convert", "tz_localize", "value", "weekday", "year",
    }),
    "pandas._libs.tslibs.offsets.BaseOffset": frozenset({
        "copy", "freqstr", "is_month_end", "is_month_start", "is_on_offset", "is_quarter_end", "is_quarter_start",
        "is_year_end", "is_year_start", "kwds", "n", "name", "nanos", "normalize", "rollback", "rollforward",
        "rule_code",
    }),
    "pandas.Interval": frozenset({
        "closed", "closed_left", "closed_right", "is_empty", "left", "length", "mid", "open_left", "open_right",
        "overlaps", "right",
    }),
    "pandas.Categorical": frozenset({
        "add_categories", "argsort", "as_ordered", "as_unordered", "astype", "categories", "codes", "copy",
        "describe", "dtype", "isna", "max", "min", "ndim", "notna", "ordered", "remove_categories",
        "remove_unused_categories", "rename_categories", "reorder_categories", "set_categories", "set_ordered",
        "shape", "size", "sort_values", "to_numpy", "tolist", "unique", "value_counts",
    }),
    "pandas.CategoricalDtype": frozenset({"categories", "name", "ordered"}),
    "pandas.core.groupby.groupby.BaseGroupBy": frozenset({
        "get_group", "groups", "indices", "ngroups", "pipe",
    }),
    "pandas.core.groupby.groupby.GroupBy": frozenset({
        "agg", "aggregate", "all", "any", "apply", "bfill", "count", "cumcount", "cummax", "cummin", "cumprod",
        "cumsum", "describe", "diff", "ewm", "expanding", "ffill", "first", "head", "last", "max", "mean", "median",
        "min", "ngroup", "nth", "ohlc", "pct_change", "prod", "quantile", "rank", "resample", "rolling", "sample",
        "sem", "shift", "size", "std", "sum", "tail", "var",
    }),
    "pandas.api.typing.DataFrameGroupBy": frozenset({
        "boxplot", "corr", "corrwith", "cov", "filter", "hist", "idxmax", "idxmin", "kurt", "nunique", "plot", "skew",
        "take", "transform", "value_counts",
    }),
    "pandas.api.typing.SeriesGroupBy": frozenset({
        "corr", "cov", "dtype", "filter", "hist", "idxmax", "idxmin", "is_monotonic_decreasing",
        "is_monotonic_increasing", "kurt", "nlargest", "nsmallest", "nunique", "plot", "skew", "take", "transform",
        "unique", "value_counts",
    }),
    "pandas.api.typing.Resampler": frozenset({
        "agg", "aggregate", "apply", "asfreq", "bfill", "count", "ffill", "first", "interpolate", "last", "max",
        "mean", "median", "min", "nearest", "nunique", "ohlc", "pipe", "prod", "quantile", "sem", "size", "std", "sum",
        "transform", "var",
    }),
    "pandas.core.window.rolling.RollingAndExpandingMixin": frozenset({
        "agg", "aggregate", "apply", "corr", "count", "cov", "first", "kurt", "last", "max", "mean", "median", "min",
        "nunique", "pipe", "quantile", "rank", "sem", "skew", "std", "sum", "var",
    }),
    "pandas.api.typing.ExponentialMovingWindow": frozenset({
        "agg", "aggregate", "corr", "cov", "mean", "std", "sum", "var",
    }),
    # The indexers are read and written by subscript only.
    "pandas.core.indexing._LocIndexer": frozenset(),
    "pandas.core.indexing._iLocIndexer": frozenset(),
    "pandas.core.indexing._AtIndexer": frozenset(),
    "pandas.core.indexing._iAtIndexer": frozenset(),
    "pandas.core.strings.accessor.StringMethods": frozenset({
        "capitalize", "casefold", "cat", "center", "contains", "count", "decode", "encode", "endswith", "extract",
        "extractall", "find", "findall", "fullmatch", "get", "get_dummies", "index", "isalnum", "isalpha", "isascii",
        "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "join", "len", "ljust",
        "lower", "lstrip", "match", "normalize", "partition", "removeprefix", "removesuffix", "repeat", "replace",
        "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "slice", "slice_replace", "split", "startswith",
        "strip", "swapcase", "title", "translate", "upper", "wrap", "zfill",
    }),
    "pandas.core.indexes.accessors.DatetimeProperties": frozenset({
        "as_unit", "ceil", "date", "day", "day_name", "day_of_week", "day_of_year", "dayofweek", "dayofyear",
        "days_in_month", "daysinmonth", "floor", "freq", "hour", "is_leap_year", "is_month_end", "is_month_start",
        "is_quarter_end", "is_quarter_start", "is_year_end", "is_year_start", "isocalendar", "microsecond", "minute",
        "month", "month_name", "nanosecond", "normalize", "quarter", "round", "second", "strftime", "time", "timetz",
        "to_period", "to_pydatetime", "tz", "tz_convert", "tz_localize", "unit", "weekday", "year",
    }),
    "pandas.core.indexes.accessors.TimedeltaProperties": frozenset({
        "as_unit", "ceil", "components", "days", "floor", "freq", "microseconds", "nanoseconds", "round", "seconds",
        "to_pytimedelta", "total_seconds", "unit",
    }),
    "pandas.core.indexes.accessors.PeriodProperties": frozenset({
        "asfreq", "day", "day_of_week", "day_of_year", "dayofweek", "dayofyear", "days_in_month", "daysinmonth",
        "end_time", "freq", "hour", "is_leap_year", "minute", "month", "quarter", "qyear", "second", "start_time",
        "strftime", "to_timestamp", "week", "weekday", "weekofyear", "year",
    }),
    "pandas.core.arrays.categorical.CategoricalAccessor": frozenset({
        "add_categories", "as_ordered", "as_unordered", "categories", "codes", "ordered", "remove_categories",
        "remove_unused_categories", "rename_categories", "reorder_categories", "set_categories",
    }),
    "pandas.plotting.PlotAccessor": frozenset({
        "area", "bar", "barh", "box", "density", "hexbin", "hist", "kde", "line", "pie", "scatter",
    }),
    # matplotlib. Not, on any artist: canvas, set_figure, transforms (get/set_transform, trans*), path effects,
    # agg filters, clip paths and boxes, callbacks, urls, pickers, animation, draw, findobj, properties,
    # update_from, window extents and bounding boxes (transforms), mouse-over and cursor data.
    "matplotlib.artist.Artist": frozenset({
        "axes", "figure", "get_alpha", "get_children", "get_clip_on", "get_figure", "get_in_layout", "get_label",
        "get_rasterized", "get_visible", "get_zorder", "remove", "set", "set_alpha", "set_clip_on", "set_in_layout",
        "set_label", "set_rasterized", "set_visible", "set_zorder", "update", "zorder",
    }),
    "matplotlib.figure.FigureBase": frozenset({
        "add_gridspec", "add_subfigure", "add_subplot", "align_labels", "align_titles", "align_xlabels",
        "align_ylabels", "autofmt_xdate", "axes", "clear", "clf", "colorbar", "delaxes", "gca", "get_edgecolor",
        "get_facecolor", "get_frameon", "get_linewidth", "get_suptitle", "get_supxlabel", "get_supylabel", "legend",
        "sca", "set_edgecolor", "set_facecolor", "set_frameon", "set_linewidth", "subfigures", "subplot_mosaic",
        "subplots", "subplots_adjust", "suptitle", "supxlabel", "supylabel", "text",
    }),
    "matplotlib.figure.Figure": frozenset({
        "dpi", "figimage", "get_axes", "get_dpi", "get_figheight", "get_figwidth", "get_size_inches", "savefig",
        "set_dpi", "set_figheight", "set_figwidth", "set_size_inches", "tight_layout",
    }),
    "matplotlib.axes._base._AxesBase": frozenset({
        "add_artist", "add_collection", "add_line", "add_patch", "artists", "autoscale", "autoscale_view", "axis",
        "child_axes", "cla", "clear", "collections", "containers", "get_adjustable", "get_anchor", "get_aspect",
        "get_autoscale_on", "get_autoscalex_on", "get_autoscaley_on", "get_axisbelow", "get_box_aspect",
        "get_data_ratio", "get_facecolor", "get_fc", "get_frame_on", "get_images", "get_legend", "get_lines",
        "get_xaxis", "get_xbound", "get_xgridlines", "get_xinverted", "get_xlabel", "get_xlim", "get_xmajorticklabels",
        "get_xmargin", "get_xminorticklabels", "get_xscale", "get_xticklabels", "get_xticklines", "get_xticks",
        "get_yaxis", "get_ybound", "get_ygridlines", "get_yinverted", "get_ylabel", "get_ylim", "get_ymajorticklabels",
        "get_ymargin", "get_yminorticklabels", "get_yscale", "get_yticklabels", "get_yticklines", "get_yticks", "grid",
        "has_data", "images", "invert_xaxis", "invert_yaxis", "label_outer", "lines", "locator_params", "margins",
        "minorticks_off", "minorticks_on", "patch", "patches", "relim", "set_adjustable", "set_anchor", "set_aspect",
        "set_autoscale_on", "set_autoscalex_on", "set_autoscaley_on", "set_axis_off", "set_axis_on",
        "set_axisbelow", "set_box_aspect", "set_facecolor", "set_fc", "set_frame_on", "set_prop_cycle", "set_xbound",
        "set_xinverted", "set_xlabel", "set_xlim", "set_xmargin", "set_xscale", "set_xticklabels", "set_xticks",
        "set_ybound", "set_yinverted", "set_ylabel", "set_ylim", "set_ymargin", "set_yscale", "set_yticklabels",
        "set_yticks", "sharex", "sharey", "spines", "tables", "texts", "tick_params", "ticklabel_format", "title",
        "twinx", "twiny", "xaxis", "xaxis_date", "xaxis_inverted", "yaxis", "yaxis_date", "yaxis_inverted",
    }),
    "matplotlib.axes._axes.Axes": frozenset({
        "acorr", "angle_spectrum", "annotate", "arrow", "axhline", "axhspan", "axline", "axvline", "axvspan", "bar",
        "bar_label", "barbs", "barh", "boxplot", "broken_barh", "bxp", "clabel", "cohere", "contour", "contourf",
        "csd", "ecdf", "errorbar", "eventplot", "fill", "fill_between", "fill_betweenx", "get_legend_handles_labels",
        "get_title", "grouped_bar", "hexbin", "hist", "hist2d", "hlines", "imshow", "indicate_inset",
        "indicate_inset_zoom", "inset_axes", "legend", "loglog", "magnitude_spectrum", "matshow", "pcolor",
        "pcolorfast", "pcolormesh", "phase_spectrum", "pie", "pie_label", "plot", "psd", "quiver", "quiverkey",
        "scatter", "secondary_xaxis", "secondary_yaxis", "semilogx", "semilogy", "set_title", "specgram", "spy",
        "stackplot", "stairs", "stem", "step", "streamplot", "table", "text", "tricontour", "tricontourf",
        "tripcolor", "triplot", "violin", "violinplot", "vlines", "xcorr",
    }),
    "matplotlib.axes._base._AxesBase.ArtistList": frozenset({"count", "index"}),
    "matplotlib.spines.Spines": frozenset({"bottom", "get", "items", "keys", "left", "right", "top", "values"}),
    "matplotlib.spines.SpinesProxy": frozenset({
        "set_alpha", "set_bounds", "set_color", "set_edgecolor", "set_linestyle", "set_linewidth", "set_position",
        "set_visible",
    }),
    "matplotlib.lines.Line2D": frozenset({
        "get_color", "get_data", "get_drawstyle", "get_fillstyle", "get_linestyle", "get_linewidth", "get_ls",
        "get_lw", "get_marker", "get_markeredgecolor", "get_markeredgewidth", "get_markerfacecolor",
        "get_markersize", "get_xdata", "get_xydata", "get_ydata", "is_dashed", "set_c", "set_color", "set_dashes",
        "set_data", "set_drawstyle", "set_fillstyle", "set_linestyle", "set_linewidth", "set_ls", "set_lw",
        "set_marker", "set_markeredgecolor", "set_markeredgewidth", "set_markerfacecolor", "set_markersize",
        "set_mec", "set_mew", "set_mfc", "set_ms", "set_xdata", "set_ydata",
    }),
    "matplotlib.text.Text": frozenset({
        "get_color", "get_fontfamily", "get_fontname", "get_fontsize", "get_fontstyle", "get_fontweight",
        "get_ha", "get_horizontalalignment", "get_position", "get_rotation", "get_text", "get_va",
        "get_verticalalignment", "set_backgroundcolor", "set_color", "set_fontfamily", "set_fontsize",
        "set_fontstyle", "set_fontweight", "set_ha", "set_horizontalalignment", "set_linespacing", "set_ma",
        "set_multialignment", "set_position", "set_rotation", "set_size", "set_text", "set_va",
        "set_verticalalignment", "set_weight", "set_wrap", "set_x", "set_y",
    }),
    "matplotlib.text.Annotation": frozenset({"xyann"}),
    "matplotlib.patches.Patch": frozenset({
        "get_edgecolor", "get_facecolor", "get_fill", "get_hatch", "get_linestyle", "get_linewidth", "set_color",
        "set_ec", "set_edgecolor", "set_facecolor", "set_fc", "set_fill", "set_hatch", "set_linestyle",
        "set_linewidth", "set_ls", "set_lw",
    }),
    "matplotlib.patches.Rectangle": frozenset({
        "get_angle", "get_height", "get_width", "get_x", "get_xy", "get_y", "set_angle", "set_bounds", "set_height",
        "set_width", "set_x", "set_xy", "set_y",
    }),
    "matplotlib.patches.Wedge": frozenset({"set_center", "set_radius", "set_theta1", "set_theta2", "set_width"}),
    "matplotlib.spines.Spine": frozenset({"get_bounds", "get_position", "set_bounds", "set_position"}),
    "matplotlib.legend.Legend": frozenset({
        "get_frame", "get_frame_on", "get_lines", "get_patches", "get_texts", "get_title", "set_frame_on", "set_loc",
        "set_ncols", "set_title",
    }),
    "matplotlib.axis.Axis": frozenset({
        "axis_date", "get_gridlines", "get_inverted", "get_label_text", "get_major_ticks", "get_majorticklabels",
        "get_majorticklocs", "get_minor_ticks", "get_minorticklabels", "get_minorticklocs", "get_offset_text",
        "get_scale", "get_ticklabels", "get_ticklocs", "grid", "label", "minorticks_off", "minorticks_on",
        "set_inverted", "set_label_coords", "set_label_position", "set_label_text", "set_major_formatter",
        "set_minor_formatter", "set_tick_params", "set_ticklabels", "set_ticks", "set_ticks_position",
    }),
    "matplotlib.axis.XAxis": frozenset({"tick_bottom", "tick_top"}),
    "matplotlib.axis.YAxis": frozenset({"tick_left", "tick_right"}),
    "matplotlib.axis.Tick": frozenset({"get_loc", "get_pad", "label1", "label2", "set_pad"}),
    "matplotlib.colorizer._ScalarMappable": frozenset({
        "get_array", "get_clim", "get_cmap", "set_array", "set_clim", "set_cmap",
    }),
    "matplotlib.collections.Collection": frozenset({
        "get_edgecolor", "get_facecolor", "get_hatch", "get_linestyle", "get_linewidth", "get_offsets", "set_color",
        "set_edgecolor", "set_facecolor", "set_hatch", "set_linestyle", "set_linewidth", "set_offsets",
    }),
    "matplotlib.collections._CollectionWithSizes": frozenset({"get_sizes", "set_sizes"}),
    "matplotlib.image.AxesImage": frozenset({"get_extent", "set_data", "set_extent"}),
    "matplotlib.container.Container": frozenset({"count", "get_label", "index", "set_label"}),
    "matplotlib.container.BarContainer": frozenset({"datavalues", "errorbar", "patches"}),
    "matplotlib.colorbar.Colorbar": frozenset({
        "ax", "get_ticks", "minorticks_off", "minorticks_on", "set_label", "set_ticklabels", "set_ticks",
    }),
    # Called to get colours (a call, not an attribute).
    "matplotlib.colors.Colormap": frozenset({
        "N", "copy", "get_bad", "get_over", "get_under", "name", "resampled", "reversed", "set_bad", "set_extremes",
        "set_over", "set_under", "with_extremes",
    }),
    "matplotlib.cm.ColormapRegistry": frozenset({"get", "get_cmap", "items", "keys", "values"}),
    "matplotlib.gridspec.GridSpecBase": frozenset({
        "get_geometry", "get_height_ratios", "get_width_ratios", "ncols", "nrows", "set_height_ratios",
        "set_width_ratios", "subplots",
    }),
    "matplotlib.gridspec.SubplotSpec": frozenset({
        "colspan", "get_geometry", "get_gridspec", "is_first_col", "is_first_row", "is_last_col", "is_last_row",
        "rowspan", "subgridspec",
    }),
}

#: Public attributes a program may assign on instances. Not: ndarray.dtype and .strides (numpy refuses
#: object dtypes; setting strides is deprecated and reads memory by offset), flags.
WRITABLE_ATTRIBUTES: dict[str, frozenset[str]] = {
    "numpy.ndarray": frozenset({"imag", "real", "shape"}),
    "pandas.DataFrame": frozenset({"attrs", "columns", "index"}),
    "pandas.Series": frozenset({"attrs", "index", "name"}),
    "pandas.Index": frozenset({"name", "names"}),
    "matplotlib.artist.Artist": frozenset({"zorder"}),
    "matplotlib.figure.Figure": frozenset({"dpi"}),
}

#: Instance attributes the sandbox replaces with a guarded version (each is also readable above).
GUARDED_ATTRIBUTES: dict[str, frozenset[str]] = {
    # query evaluates its string with pandas' expression engine, which reads attributes outside the
    # guards (df.query("a.values.ctypes.data > 0") ran); to_csv/to_json/to_string take a path (buf=);
    # agg/aggregate/apply/transform/pivot_table read a function named by a string with the real getattr
    # (df.apply("_mgr") and df.agg("_constructor") reached private attributes).
    "pandas.DataFrame": frozenset({
        "agg", "aggregate", "apply", "pivot_table", "query", "to_csv", "to_json", "to_string", "transform",
    }),
    "pandas.Series": frozenset({"agg", "aggregate", "apply", "to_csv", "to_json", "to_string", "transform"}),
    "pandas.core.groupby.groupby.GroupBy": frozenset({"agg", "aggregate", "apply"}),
    # filter(func) takes a method name too (SeriesGroupBy: getattr(group, name)(*args), pass 97).
    "pandas.api.typing.DataFrameGroupBy": frozenset({"filter", "transform"}),
    "pandas.api.typing.SeriesGroupBy": frozenset({"filter", "transform"}),
    "pandas.api.typing.Resampler": frozenset({"agg", "aggregate", "apply", "transform"}),
    "pandas.core.window.rolling.RollingAndExpandingMixin": frozenset({"agg", "aggregate"}),
    "pandas.api.typing.ExponentialMovingWindow": frozenset({"agg", "aggregate"}),
    "matplotlib.figure.Figure": frozenset({"savefig"}),
    # set(**kw) and update(dict) call set_<name> for each key: only the setters readable above.
    "matplotlib.artist.Artist": frozenset({"set", "update"}),
    # verify_integrity=False, or codes the program still holds a writable view of, made codes past
    # the levels that pandas' take kernels read unchecked (attack pass 95, F11).
    "pandas.MultiIndex": frozenset({"set_codes", "set_levels"}),
    # fmt="{0.__class__.__mro__}" is run by the real str.format (attack pass 95, F14).
    "matplotlib.axes._axes.Axes": frozenset({"bar_label"}),
}
# fmt: on
