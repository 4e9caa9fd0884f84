"""The images `inv build` makes: where they come from, what they are called, how they are tagged.

`plan` lists every image (the configured Dockerfile and each compose service with a `build:`
section) without running a build; `naming` gives build-only services an image name Compose
then runs; `revision` turns the checkout into the one tag scheme every image shares.
"""
