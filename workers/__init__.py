"""arq workers: the job functions and the settings that run them."""
