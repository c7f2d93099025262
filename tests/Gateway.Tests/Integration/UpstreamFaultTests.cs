using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Integration;

/// <summary>OCP® and the token endpoint misbehaving: every fault gets a defined answer, never a crash.</summary>
public sealed class UpstreamFaultTests
{
    [Fact]
    public async Task Ocp_resetting_the_connection_after_its_headers_gets_502()
    {
        using var upstream = new ResettingUpstream();
        using var host = GatewayHost.Create(new Dictionary<string, string?>(), $"http://127.0.0.1:{upstream.Port}/");

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("urn:ocp-gateway:problem:upstream-unavailable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tls_failure_towards_ocp_gets_502()
    {
        using var plain = WireMock.Server.WireMockServer.Start();
        // https to a plain-HTTP port: the TLS handshake fails.
        using var host = GatewayHost.Create(new Dictionary<string, string?>(), $"https://127.0.0.1:{plain.Port}/");

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(plain.LogEntries);
    }

    [Theory]
    [InlineData(500, "internal failure")]
    [InlineData(503, "maintenance")]
    public async Task Ocp_5xx_answers_pass_back_unchanged(int status, string body)
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>());
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "text/plain").WithBody(body));

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_huge_ocp_answer_is_streamed_back_whole()
    {
        var big = new string('a', 5 * 1024 * 1024);
        using var host = GatewayHost.Create(new Dictionary<string, string?>());
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithBody(big));

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(big.Length, (await response.Content.ReadAsByteArrayAsync()).Length);
    }

    [Theory]
    [InlineData(200, "this is not json", "invalid_token_response")]
    [InlineData(200, "{\"token_type\":\"Bearer\"}", "invalid_token_response")]
    [InlineData(401, "{\"error\":\"invalid_client\"}", "invalid_client")]
    [InlineData(502, "bad gateway", "http_502")]
    public async Task A_broken_token_endpoint_gets_503_naming_the_oauth_error(int status, string body, string error)
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>());
        host.TokenEndpoint.Reset();
        host.TokenEndpoint.Given(Request.Create().UsingPost())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(error, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(host.Ocp.LogEntries);
    }

    [Fact]
    public async Task A_slow_token_endpoint_is_given_up_on_at_its_request_timeout()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:TokenClients:ocp:RequestTimeout"] = "00:00:00.300" });
        host.TokenEndpoint.Reset();
        host.TokenEndpoint.Given(Request.Create().UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(3)).WithBody("{\"access_token\":\"late\",\"expires_in\":60}"));

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("timeout", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>An upstream that reads the request, sends a status line and headers, then resets the connection.</summary>
    private sealed class ResettingUpstream : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();

        public ResettingUpstream()
        {
            _listener.Start();
            _ = ServeAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }

        private async Task ServeAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    var buffer = new byte[64 * 1024];
                    await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/json\r\n\r\n"), SocketFlags.None, _stop.Token);
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }
    }
}
