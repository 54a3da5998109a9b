"""What bounds every send, whoever makes it: the clients' calls and ``PasswordAuth``'s IAM login.

- ``deadline``: ``DEADLINE``, the request extension carrying a call's deadline, and
  ``cut_timeout``, httpx's timeouts cut to the time left before it;
- ``body``: a body read chunk by chunk, never decompressed beyond a cap nor past the deadline;
- ``sockets``: the httpx transports whose every socket operation (connect, write, the read of the
  status line and headers) ends at the request's deadline. It imports httpcore, so it is imported
  only when a client or a login builds one, never with ``roma_nb``.

It sits below ``client`` and ``auth`` (``tests/test_layering.py``): the login an ``httpx.Auth``
makes inside a call is bounded by the same code as the call itself.
"""
