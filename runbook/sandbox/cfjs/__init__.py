"""CloudFront Functions in the twin, as CloudFront runs them: the runtime in V8
(``runtime``, ``runtime.js``), the event CloudFront builds from a request (``event``),
what a function's result means to the edge (``result``), the edge's calls (``atedge``),
and TestFunction (``testing``)."""
