"""Dependencies of the channel, media and profile routes.

Kept beside ``deps.py`` rather than in it so private messaging and channels grow
without editing one shared file. Public channels are readable without an account,
hence :func:`maybe_principal`: a token, if sent, must still be valid.
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from tidings.server.deps import bearer, principal
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.channels import ChannelService
from tidings.services.media import MediaService
from tidings.services.posts import PostService
from tidings.services.profiles import ProfileService


async def maybe_principal(request: Request,
                          creds: HTTPAuthorizationCredentials | None = Depends(bearer)
                          ) -> Principal | None:
    if creds is None:
        return None
    return await principal(request, creds)


async def channels(request: Request) -> ChannelService:
    """Async on purpose, as every getter here: FastAPI runs a plain ``def``
    dependency in its thread pool, a thread hop per request for a field read."""
    service: ChannelService = kernel_of(request).channels
    return service


async def posts(request: Request) -> PostService:
    service: PostService = kernel_of(request).posts
    return service


async def media(request: Request) -> MediaService:
    service: MediaService = kernel_of(request).media
    return service


async def profiles(request: Request) -> ProfileService:
    service: ProfileService = kernel_of(request).profiles
    return service
