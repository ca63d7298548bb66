"""Password policy (length, common passwords, personal data) and argon2id hashing at the OWASP minimum."""

import subprocess
import sys

import pytest
from argon2 import PasswordHasher, Type

from maestro.domain.errors import ValidationFailed
from maestro.domain.identity import passwords
from maestro.domain.identity.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)

GOOD_PASSWORD = "tapir-lumen7"  # 12 characters, not common


@pytest.fixture(scope="module")
def stored_hash():
    # One hash shared by the module: each costs tens of milliseconds.
    return hash_password(GOOD_PASSWORD)


def broken_rules(password, **personal):
    with pytest.raises(ValidationFailed) as caught:
        check_password_policy(password, **personal)
    assert caught.value.detail == "password does not meet the policy"
    errors = caught.value.extensions["errors"]
    assert all(error["field"] == "password" and error["message"] for error in errors)
    return [error["type"] for error in errors]


def test_limits_are_twelve_and_one_hundred_twenty_eight():
    assert (MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH) == (12, 128)


def test_eleven_characters_is_too_short():
    assert broken_rules("tapir-lumen") == ["string_too_short"]


def test_twelve_characters_is_enough():
    assert len(GOOD_PASSWORD) == 12
    check_password_policy(GOOD_PASSWORD)


def test_one_hundred_twenty_eight_characters_is_allowed():
    check_password_policy("Qz7!" * 32)


def test_one_hundred_twenty_nine_characters_is_too_long():
    assert broken_rules("Qz7!" * 32 + "x") == ["string_too_long"]


def test_length_counts_characters_not_bytes():
    check_password_policy("ñandú-café-é")  # 12 characters, 16 UTF-8 bytes
    assert broken_rules("ñandú-café") == ["string_too_short"]


@pytest.mark.parametrize("common", ["1q2w3e4r5t6y", "QWERTY123456", "qWeRtY123456"])
def test_common_password_is_refused_whatever_its_case(common):
    assert broken_rules(common) == ["password_too_common"]


def test_password_containing_the_email_local_part_is_refused():
    assert broken_rules("Marie.Curie-1867", email="marie.curie@lab.example") == ["password_contains_personal_data"]


def test_password_containing_the_email_base_before_a_plus_tag_is_refused():
    assert broken_rules("xx-mariecurie-xx", email="mariecurie+ml@lab.example") == ["password_contains_personal_data"]


def test_a_very_short_local_part_only_forbids_itself_not_every_password_with_those_letters():
    check_password_policy("always-calm-sea", email="al@lab.example")


def test_password_equal_to_the_name_is_refused():
    assert broken_rules("Marie Sklodowska", name="marie sklodowska") == ["password_contains_personal_data"]


def test_every_broken_rule_is_listed():
    assert broken_rules("LeaveMeAlone", email="leavemealone@x.io") == [
        "password_too_common",
        "password_contains_personal_data",
    ]


def test_hash_is_argon2id_at_19_mib_and_2_iterations(stored_hash):
    assert stored_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert not needs_rehash(stored_hash)


def test_each_hash_has_its_own_salt(stored_hash):
    assert hash_password(GOOD_PASSWORD) != stored_hash


def test_right_password_verifies(stored_hash):
    assert verify_password(stored_hash, GOOD_PASSWORD) is True


def test_wrong_password_does_not_verify(stored_hash):
    assert verify_password(stored_hash, GOOD_PASSWORD + "x") is False


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "not-a-hash",
        "$argon2id$v=19$m=19456,t=2,p=1$bad$bad",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
    ],
)
def test_malformed_hash_does_not_verify_and_does_not_raise(malformed):
    assert verify_password(malformed, GOOD_PASSWORD) is False
    assert needs_rehash(malformed) is True


def test_unknown_user_does_not_verify():
    assert verify_password(None, GOOD_PASSWORD) is False


def test_dummy_hash_for_unknown_users_costs_what_a_real_one_does():
    # Same parameters as real hashes, or the timing would tell unknown users apart.
    assert not needs_rehash(passwords._DUMMY_HASH)


def test_hash_made_with_weaker_parameters_needs_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash(GOOD_PASSWORD)
    assert verify_password(weak, GOOD_PASSWORD) is True
    assert needs_rehash(weak) is True


def test_importing_the_module_loads_neither_argon2_nor_the_password_list():
    probe = (
        "import sys, maestro.domain.identity.passwords; "
        "print(','.join(m for m in ('argon2', 'zxcvbn') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
