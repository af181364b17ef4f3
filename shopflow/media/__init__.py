"""Product media: uploads, the image variants made from them, their storage and delivery.

`sniff` needs no pyvips: the web process answers 415 from the first bytes and never decodes
pixels. `processing.process` (pyvips) runs in the workers; `ladder` names the variants and
their records; `storage` keeps originals and variants under content-addressed keys, locally
or on S3, and `delivery` serves the variants.
"""
