"""The pages of `pumas ui`, one module each; every module lists its routes in ``ROUTES``."""
