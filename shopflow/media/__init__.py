"""Product media: uploads, image variants, storage and delivery."""
