"""Argon2id with the RFC 9106 parameters (t=3, m=64 MiB, p=4).

Stronger than Django's default Argon2 settings in memory per lane and matching the
security goals (security.md goal 23); about 100–160 ms per hash on the 2-core machine, so
logins are throttled before they reach the hasher.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Django's Argon2 hasher with RFC 9106 "second recommendation" parameters."""

    time_cost = 3
    memory_cost = 65536
    parallelism = 4
