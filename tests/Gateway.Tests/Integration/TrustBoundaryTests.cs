using System.Net.Sockets;
using System.Text;

namespace OcpTalkdesk.Gateway.Tests.Integration;

/// <summary>
/// The edge's trust boundaries probed as an attacker would, with raw HTTP/1.1 against the real process in
/// Production: who is believed about the caller's address and scheme, which port answers what, which of
/// Kestrel's limits are in force, and what reaches OCP®.
/// </summary>
public sealed class TrustBoundaryTests : IClassFixture<TrustBoundaryTests.ShippedGateway>
{
    private readonly ShippedGateway _shipped;

    public TrustBoundaryTests(ShippedGateway shipped)
    {
        _shipped = shipped;
        shipped.Gateway.Ocp.ResetLogEntries();
    }

    private EdgeGateway Gateway => _shipped.Gateway;

    [Theory]
    [InlineData("ApiKey")]
    [InlineData("None")]
    public async Task A_spoofed_X_Forwarded_For_does_not_pass_an_allow_list_without_a_trusted_proxy(string type)
    {
        await using var gateway = await EdgeGateway.StartAsync(new Dictionary<string, string>
        {
            ["Gateway__InboundAuth__talkdesk__Type"] = type,
            ["Gateway__InboundAuth__talkdesk__AllowedNetworks__0"] = "10.0.0.0/8",
        });

        var spoofed = await RawHttp.SendAsync(gateway.EventPort, EdgeGateway.Post(EdgeGateway.Sample(),
            $"X-API-Key: {EdgeGateway.ApiKey}\r\nX-Forwarded-For: 10.9.8.7\r\nX-Forwarded-Proto: https\r\n"));

        Assert.Equal(403, RawHttp.StatusOf(spoofed));
        Assert.Empty(gateway.Ocp.LogEntries);
    }

    [Fact]
    public async Task A_trusted_proxy_is_believed_and_no_one_else()
    {
        await using var gateway = await EdgeGateway.StartAsync(new Dictionary<string, string>
        {
            ["Gateway__InboundAuth__talkdesk__AllowedNetworks__0"] = "10.0.0.0/8",
            ["Gateway__TrustedProxies__0"] = "127.0.0.1",
        });

        var throughProxy = await RawHttp.SendAsync(gateway.EventPort, EdgeGateway.Post(EdgeGateway.Sample(),
            $"X-API-Key: {EdgeGateway.ApiKey}\r\nX-Forwarded-For: 10.9.8.7\r\n"));
        var proxyItself = await RawHttp.SendAsync(gateway.EventPort, EdgeGateway.Post(EdgeGateway.Sample(), $"X-API-Key: {EdgeGateway.ApiKey}\r\n"));

        Assert.Equal(200, RawHttp.StatusOf(throughProxy));
        Assert.Equal(403, RawHttp.StatusOf(proxyItself));
        // OCP® is told the client the trusted proxy named, not the proxy.
        Assert.Equal("10.9.8.7", Assert.Single(gateway.Ocp.LogEntries).RequestMessage.Headers!["X-Forwarded-For"].Single());
    }

    [Fact]
    public async Task Basic_over_plain_HTTP_is_refused_naming_why_unless_a_trusted_proxy_says_it_came_over_HTTPS()
    {
        await using var gateway = await EdgeGateway.StartAsync(new Dictionary<string, string>
        {
            ["Gateway__InboundAuth__talkdesk__Type"] = "Basic",
            ["Gateway__InboundAuth__talkdesk__Users__talkdesk"] = "correct horse battery",
            ["Gateway__TrustedProxies__0"] = "127.0.0.1",
        });
        var basic = "Authorization: Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("talkdesk:correct horse battery")) + "\r\n";

        var plain = await RawHttp.SendAsync(gateway.EventPort, EdgeGateway.Post(EdgeGateway.Sample(), basic));
        var viaTls = await RawHttp.SendAsync(gateway.EventPort, EdgeGateway.Post(EdgeGateway.Sample(), basic + "X-Forwarded-Proto: https\r\n"));

        Assert.Equal(401, RawHttp.StatusOf(plain));
        Assert.Contains("application/problem+json", plain, StringComparison.Ordinal);
        Assert.Contains("refused over plain HTTP", plain, StringComparison.Ordinal);
        Assert.Equal(200, RawHttp.StatusOf(viaTls));
        Assert.Single(gateway.Ocp.LogEntries);
    }

    [Fact]
    public async Task Operator_endpoints_answer_on_the_management_port_only_whatever_the_host_header_says()
    {
        var metricsOnEvents = await RawHttp.SendAsync(Gateway.EventPort, $"GET /metrics HTTP/1.1\r\nHost: x:{Gateway.ManagementPort}\r\n\r\n");
        var readyOnEvents = await RawHttp.SendAsync(Gateway.EventPort, $"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{Gateway.ManagementPort}\r\n\r\n");
        var metricsOnManagement = await RawHttp.SendAsync(Gateway.ManagementPort, $"GET /metrics HTTP/1.1\r\nHost: x:{Gateway.EventPort}\r\n\r\n");

        Assert.Equal(404, RawHttp.StatusOf(metricsOnEvents));
        Assert.Equal(404, RawHttp.StatusOf(readyOnEvents));
        Assert.Equal(200, RawHttp.StatusOf(metricsOnManagement));
    }

    [Fact]
    public async Task An_event_sent_to_the_management_port_is_not_forwarded()
    {
        var answer = await RawHttp.SendAsync(Gateway.ManagementPort,
            EdgeGateway.Post(EdgeGateway.Sample(), $"X-API-Key: {EdgeGateway.ApiKey}\r\n", host: $"gateway:{Gateway.EventPort}"));
        var sameOnEvents = await RawHttp.SendAsync(Gateway.EventPort, EdgeGateway.Post(EdgeGateway.Sample(), $"X-API-Key: {EdgeGateway.ApiKey}\r\n"));

        Assert.Equal(404, RawHttp.StatusOf(answer));
        Assert.Equal(200, RawHttp.StatusOf(sameOnEvents));
        Assert.Single(Gateway.Ocp.LogEntries);
    }

    [Fact]
    public async Task The_shipped_header_count_limit_is_in_force()
    {
        // appsettings.json: MaxRequestHeaderCount 64 (Kestrel's own default is 100). Host, Content-Type,
        // Content-Length and the key are four; 61 fillers make 65.
        var fillers = new StringBuilder();
        for (var i = 0; i < 61; i++)
        {
            fillers.Append("X-Filler-").Append(i).Append(": x\r\n");
        }

        var tooMany = await RawHttp.SendAsync(Gateway.EventPort, EdgeGateway.Post(EdgeGateway.Sample(), $"X-API-Key: {EdgeGateway.ApiKey}\r\n{fillers}"));
        var atTheLimit = await RawHttp.SendAsync(Gateway.EventPort,
            EdgeGateway.Post(EdgeGateway.Sample(), $"X-API-Key: {EdgeGateway.ApiKey}\r\n{fillers.ToString()[(fillers.ToString().IndexOf('\n') + 1)..]}"));

        Assert.Equal(431, RawHttp.StatusOf(tooMany));
        Assert.Equal(200, RawHttp.StatusOf(atTheLimit));
    }

    [Fact]
    public async Task Kestrel_limits_set_in_the_environment_apply()
    {
        await using var gateway = await EdgeGateway.StartAsync(new Dictionary<string, string>
        {
            ["Kestrel__Limits__MaxRequestHeaderCount"] = "8",
            ["Kestrel__Limits__RequestHeadersTimeout"] = "00:00:01",
            // A rate no slow sender meets, with the shortest grace Kestrel allows.
            ["Kestrel__Limits__MinRequestBodyDataRate__BytesPerSecond"] = "1000000",
            ["Kestrel__Limits__MinRequestBodyDataRate__GracePeriod"] = "00:00:02",
        });

        var nine = await RawHttp.SendAsync(gateway.EventPort,
            EdgeGateway.Post(EdgeGateway.Sample(), $"X-API-Key: {EdgeGateway.ApiKey}\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n"));
        var unfinishedHeaders = await RawHttp.SendAsync(gateway.EventPort, "POST /talkdesk/events HTTP/1.1\r\nHost: gateway\r\nX-API-Key: ");
        var slowBody = await SlowBodyAsync(gateway);

        Assert.Equal(431, RawHttp.StatusOf(nine));
        // Closed (408, or just closed) long before Kestrel's default of 30 s; the read gives up after 10 s.
        Assert.DoesNotContain("<no answer within the time limit>", unfinishedHeaders, StringComparison.Ordinal);
        Assert.Equal(408, RawHttp.StatusOf(slowBody));
        Assert.Empty(gateway.Ocp.LogEntries);
    }

    [Fact]
    public async Task A_chunk_size_that_overflows_is_a_400_problem_and_one_log_line_without_a_stack_trace()
    {
        var answer = await RawHttp.SendAsync(Gateway.EventPort,
            $"POST /talkdesk/events HTTP/1.1\r\nHost: gateway\r\nX-API-Key: {EdgeGateway.ApiKey}\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n100000000\r\n{}\r\n0\r\n\r\n");

        Assert.Equal(400, RawHttp.StatusOf(answer));
        Assert.Contains("application/problem+json", answer, StringComparison.Ordinal);
        Assert.Empty(Gateway.Ocp.LogEntries);
        Assert.DoesNotContain("   at ", Gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", Gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_declared_compressed_is_refused()
    {
        var answer = await RawHttp.SendAsync(Gateway.EventPort,
            EdgeGateway.Post(EdgeGateway.Sample(), $"X-API-Key: {EdgeGateway.ApiKey}\r\nContent-Encoding: gzip\r\n"));

        Assert.Equal(415, RawHttp.StatusOf(answer));
        Assert.Contains("application/problem+json", answer, StringComparison.Ordinal);
        Assert.Empty(Gateway.Ocp.LogEntries);
    }

    [Fact]
    public async Task A_bare_LF_line_end_is_refused()
    {
        var body = EdgeGateway.Sample();
        var answer = await RawHttp.SendAsync(Gateway.EventPort,
            $"POST /talkdesk/events HTTP/1.1\nHost: gateway\nX-API-Key: {EdgeGateway.ApiKey}\nContent-Type: application/json\n"
            + $"Content-Length: {Encoding.UTF8.GetByteCount(body)}\n\n{body}");

        Assert.Equal(400, RawHttp.StatusOf(answer));
        Assert.Empty(Gateway.Ocp.LogEntries);
    }

    [Fact]
    public async Task OCP_receives_the_allow_list_and_nothing_else_the_caller_sent()
    {
        var answer = await RawHttp.SendAsync(Gateway.EventPort, EdgeGateway.Post(EdgeGateway.Sample(),
            $"X-API-Key: {EdgeGateway.ApiKey}\r\nAuthorization: Bearer the-callers-own\r\nX-Admin-Key: an-admin-key-of-the-operator\r\n"
            + "Cookie: session=abc\r\nConnection: keep-alive, X-Hop\r\nX-Hop: hop-value\r\nX-Talkdesk-Account: acme\r\nProxy-Authorization: Basic eDp5\r\n"
            + "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Host: evil.example\r\n",
            target: "/talkdesk/events?token=leak&x=1"));

        Assert.Equal(200, RawHttp.StatusOf(answer));
        var received = Assert.Single(Gateway.Ocp.LogEntries).RequestMessage;
        var headers = received.Headers!;
        Assert.Equal("/ocp/events", received.Path);
        Assert.True(string.IsNullOrEmpty(received.RawQuery), received.RawQuery);
        Assert.Equal("Bearer " + EdgeGateway.Token, headers["Authorization"].Single());
        Assert.StartsWith("application/json", headers["Content-Type"].Single(), StringComparison.Ordinal);
        Assert.True(headers.ContainsKey("Idempotency-Key"));
        Assert.Equal("127.0.0.1", headers["X-Forwarded-For"].Single());
        Assert.Equal("http", headers["X-Forwarded-Proto"].Single());
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", headers["traceparent"].Single().Split('-')[1]);
        foreach (var never in new[] { "X-API-Key", "X-Admin-Key", "Cookie", "X-Hop", "X-Talkdesk-Account", "Proxy-Authorization", "Forwarded", "Content-Encoding" })
        {
            Assert.False(headers.ContainsKey(never), never + " reached OCP®");
        }

        Assert.NotEqual("evil.example", headers["X-Forwarded-Host"].Single());
    }

    [Fact]
    public async Task A_route_may_forward_headers_and_the_query_string_it_lists()
    {
        await using var gateway = await EdgeGateway.StartAsync(new Dictionary<string, string>
        {
            ["ReverseProxy__Routes__talkdesk-events__Metadata__ForwardRequestHeaders"] = "X-Talkdesk-Account, X-Hop",
            ["ReverseProxy__Routes__talkdesk-events__Metadata__ForwardQueryString"] = "true",
        });

        var answer = await RawHttp.SendAsync(gateway.EventPort, EdgeGateway.Post(EdgeGateway.Sample(),
            $"X-API-Key: {EdgeGateway.ApiKey}\r\nX-Talkdesk-Account: acme\r\nConnection: X-Hop\r\nX-Hop: hop-value\r\nCookie: a=b\r\n", target: "/talkdesk/events?x=1"));

        Assert.Equal(200, RawHttp.StatusOf(answer));
        var received = Assert.Single(gateway.Ocp.LogEntries).RequestMessage;
        Assert.Equal("acme", received.Headers!["X-Talkdesk-Account"].Single());
        Assert.False(received.Headers.ContainsKey("X-Hop"), "a header named in Connection is hop-by-hop");
        Assert.False(received.Headers.ContainsKey("Cookie"));
        Assert.Equal("?x=1", received.RawQuery.StartsWith('?') ? received.RawQuery : "?" + received.RawQuery);
    }

    private static async Task<string> SlowBodyAsync(EdgeGateway gateway)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync("127.0.0.1", gateway.EventPort);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /talkdesk/events HTTP/1.1\r\nHost: gateway\r\nX-API-Key: {EdgeGateway.ApiKey}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{\"event_type\":"));
        return await RawHttp.ReadAsync(stream, TimeSpan.FromSeconds(10));
    }

    /// <summary>One gateway with the shipped configuration, shared by the tests that need no settings of their own.</summary>
    public sealed class ShippedGateway : IAsyncLifetime
    {
        private EdgeGateway? _gateway;

        public EdgeGateway Gateway => _gateway ?? throw new InvalidOperationException("not started");

        public async Task InitializeAsync() => _gateway = await EdgeGateway.StartAsync();

        public async Task DisposeAsync()
        {
            if (_gateway is not null)
            {
                await _gateway.DisposeAsync();
            }
        }
    }
}
