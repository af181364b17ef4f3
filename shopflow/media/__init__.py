"""Product media: what an upload is, the image variants made from it, and where they live.

`sniff` needs no pyvips: the web process answers 415 from the first bytes and never decodes
pixels. `processing.process` (pyvips) runs in the workers; `ladder` names the variants, their
records and their content-addressed storage keys.
"""
