"""The real Redis the distributed tests run on: started on loopback, persistent across a restart."""

import redis


def test_redis_restart_keeps_data(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    client.set("frontier:probe", "kept")
    client.xadd("frontier:stream", {"k": "v"})
    redis_server.stop()
    try:
        client.ping()
        raise AssertionError("a stopped server answered")
    except redis.ConnectionError:
        pass
    redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    assert client.get("frontier:probe") == b"kept"
    assert client.xlen("frontier:stream") == 1
    assert client.config_get("appendonly")["appendonly"] == "yes"
