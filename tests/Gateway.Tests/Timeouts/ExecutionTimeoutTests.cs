using System.Diagnostics;
using System.Net;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Timeouts;

public sealed class ExecutionTimeoutTests
{
    /// <summary>Long against the timeouts below, short enough that WireMock's shutdown, which waits for it, stays quick.</summary>
    private static readonly TimeSpan UpstreamDelay = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Slow_upstream_gets_504_at_the_route_timeout_and_the_next_event_is_served()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:talkdesk-events:Timeout"] = "00:00:01",
            ["Gateway:EventTypes:conversation_started:UpstreamPath"] = "/slow",
        });
        host.Ocp.Given(Request.Create().WithPath(GatewayHost.OcpPath + "/slow").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithDelay(UpstreamDelay));
        host.Ocp.Given(Request.Create().WithPath(GatewayHost.OcpPath).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(202));
        var client = host.CreateClient();
        // A first event warms the process (JIT, connection, token) so only OCP®'s delay is timed.
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created")))).StatusCode);

        var clock = Stopwatch.StartNew();
        var slow = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_started")));
        var elapsed = clock.Elapsed;
        var next = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created")));

        Assert.Equal(HttpStatusCode.GatewayTimeout, slow.StatusCode);
        Assert.Equal("application/problem+json", slow.Content.Headers.ContentType?.MediaType);
        Assert.Contains("urn:ocp-gateway:problem:upstream-timeout", await slow.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // The gateway gave up on OCP® instead of waiting for its answer.
        Assert.True(elapsed >= TimeSpan.FromSeconds(0.9) && elapsed < UpstreamDelay / 2, $"answered after {elapsed}");
        Assert.Equal(HttpStatusCode.Accepted, next.StatusCode);
    }

    [Fact]
    public async Task Waiting_for_a_token_counts_against_the_execution_timeout()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:ExecutionTimeout"] = "00:00:00.500" });
        host.TokenEndpoint.Reset();
        host.TokenEndpoint.Given(Request.Create().UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithDelay(UpstreamDelay).WithBody("{\"access_token\":\"late\",\"expires_in\":60}"));

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Empty(host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Every_route_without_its_own_timeout_is_held_to_the_execution_timeout_which_ships_at_ten_seconds()
    {
        // The shipped route sets no Timeout of its own; only Gateway:ExecutionTimeout governs it. OCP® would answer
        // after 10 s, which is also the shipped default, so an answer well before that is the configured 0.5 s at
        // work (the margin is wide: under the full suite on two cores it once took 3.9 s).
        var ocpDelay = TimeSpan.FromSeconds(10);
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:ExecutionTimeout"] = "00:00:00.500" });
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithDelay(ocpDelay));
        var client = host.CreateClient();

        var clock = Stopwatch.StartNew();
        var response = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("urn:ocp-gateway:problem:upstream-timeout", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(7), $"answered after {clock.Elapsed}");
        Assert.Equal(TimeSpan.FromSeconds(10), new OcpTalkdesk.Gateway.Timeouts.ExecutionTimeoutOptions().ExecutionTimeout);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("00:00:31")]
    public void An_execution_timeout_outside_talkdesks_range_fails_start_up(string value)
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:ExecutionTimeout"] = value });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains("Gateway:ExecutionTimeout", error.Message, StringComparison.Ordinal);
    }
}
