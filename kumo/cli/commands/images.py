"""Image commands over the Compute API's image proxy (at most microversion 2.35)."""

from __future__ import annotations

import argparse

from kumo.cli.client import Client
from kumo.cli.formatting import print_dict, print_list
from kumo.cli.lookup import IMAGE_PROXY_MAX, find_image
from kumo.cli.registry import arg, command


@command("image-list")
def do_image_list(client: Client, args: argparse.Namespace) -> None:
    """List images."""
    images = client.get("/images/detail", microversion=client.capped(IMAGE_PROXY_MAX))[
        "images"]
    print_list(images, ["id", "name", "status", "minDisk", "minRam"],
               ["ID", "Name", "Status", "MinDisk", "MinRam"])


@command("image-show", arg("image", metavar="<image>"))
def do_image_show(client: Client, args: argparse.Namespace) -> None:
    """Show an image."""
    image = find_image(client, args.image)
    print_dict({k: v for k, v in image.items() if k != "links"})
