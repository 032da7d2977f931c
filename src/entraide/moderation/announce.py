"""The approved-posts topic: what moderation announces when a post becomes public.

Subscribers (the relay's queue) filter on message attributes without reading the body.
Neither attributes nor body ever carry a contact detail.
"""

from __future__ import annotations

from typing import Any

from entraide.adapters.topics import Topic
from entraide.kernel.model import Post
from entraide.privacy.detection import mask_public_text


def approved_message(post: Post) -> dict[str, Any]:
    return {
        "event": "post-approved",
        "post_id": post.id,
        "version": post.version,
        "kind": post.kind.value,
        "category": post.category.value,
        "title": mask_public_text(post.title),  # public text: as every public output shows it
        "commune": post.commune,
        "postcode": post.postcode,
        "departement": post.departement,
        "activation_id": post.activation_id,
        "approved_at": post.decided_at.isoformat() if post.decided_at else None,
    }


def approved_attributes(post: Post) -> dict[str, str]:
    return {
        "event": "post-approved",
        "kind": post.kind.value,
        "category": post.category.value,
        "departement": post.departement,
        "activation": post.activation_id,
    }


class ApprovedTopic(Topic):
    def announce_approved(self, post: Post) -> str:
        return self.publish(approved_message(post), approved_attributes(post))
