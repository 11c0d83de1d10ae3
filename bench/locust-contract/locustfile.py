# The small swarm bench/record-locust-contract records Locust's HTTP API with: the workshop's
# calls against mock-server (some of which fail, so the errors and failures CSV have rows),
# plus one task that raises, so /exceptions has an entry whose keys can be recorded.
from locust import HttpUser, between, task


class Workshop(HttpUser):
    wait_time = between(0.05, 0.1)

    @task(6)
    def chat(self):
        self.client.post("/chat", json={"content": "Can you recommend a feel-good comedy?"})

    @task(1)
    def startup(self):
        self.client.get("/startup")

    @task(1)
    def missing(self):
        # A 404: a failure row whatever the mock's phase.
        self.client.get("/no-such-route")

    @task(1)
    def boom(self):
        raise RuntimeError("a task that raises, for /exceptions")
