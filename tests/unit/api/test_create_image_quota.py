"""createImage's image metadata quota (checked up to 2.38, as Nova) and 2.45's body."""

from __future__ import annotations

from typing import Any

from kumo.compute import task_states
from tests.unit.api.conftest import StubConductor
from tests.unit.api.test_server_actions_move import _action, api  # noqa: F401

TOO_MANY = {"createImage": {"name": "snap",
                            "metadata": {f"k{i}": "v" for i in range(129)}}}


def test_up_to_2_38_metadata_past_the_quota_is_a_403_and_leaves_no_image(
        api: Any, conductor: StubConductor) -> None:  # noqa: F811
    server = conductor.add_instance()

    response = _action(api, server.uuid, TOO_MANY, **{"OpenStack-API-Version": "compute 2.38"})

    assert response.status_int == 403
    assert response.json == {"forbidden": {"code": 403,
                                           "message": "Image metadata limit exceeded"}}
    assert not api.images and server.task_state is None


def test_from_2_39_the_quota_is_not_checked_and_2_45_answers_the_image_id(
        api: Any, conductor: StubConductor) -> None:  # noqa: F811
    server = conductor.add_instance()

    response = _action(api, server.uuid, TOO_MANY, **{"OpenStack-API-Version": "compute 2.45"})

    assert response.status_int == 202
    image, = api.images.values()
    assert response.json == {"image_id": image.id} and "Location" not in response.headers
    assert server.task_state == task_states.IMAGE_SNAPSHOT
