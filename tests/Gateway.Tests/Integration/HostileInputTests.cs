using System.Net;
using System.Net.Sockets;
using System.Text;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Integration;

/// <summary>Hostile bodies and framing against the gateway on a real Kestrel socket.</summary>
public sealed class HostileInputTests : IDisposable
{
    // Two seconds of grace for a stalled body (Kestrel needs more than one), so the data-rate test is quick.
    private readonly GatewayHost _host = GatewayHost.CreateOnKestrel(new Dictionary<string, string?>
    {
        ["Kestrel:Limits:MinRequestBodyDataRate:GracePeriod"] = "00:00:02",
    });

    public HostileInputTests() =>
        _host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));

    public void Dispose() => _host.Dispose();

    [Theory]
    [InlineData(10L * 1024 * 1024)]
    [InlineData(1024L * 1024 * 1024)]
    public async Task A_declared_huge_body_is_refused_at_once_without_being_sent_or_buffered(long length)
    {
        var response = await RawAsync($"POST /talkdesk/events HTTP/1.1\r\nHost: x\r\nX-API-Key: {GatewayHost.ApiKey}\r\n"
            + $"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{\"event_type\":");

        Assert.StartsWith("HTTP/1.1 413", response, StringComparison.Ordinal);
        Assert.Contains("urn:ocp-gateway:problem:body-too-large", response, StringComparison.Ordinal);
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task A_chunked_body_past_the_cap_is_refused_with_413()
    {
        var chunk = new string('x', 64 * 1024);
        var chunks = new StringBuilder();
        for (var i = 0; i < 5; i++)
        {
            chunks.Append((i == 0 ? chunk.Length + 14 : chunk.Length).ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n")
                .Append(i == 0 ? "{\"event_type\":" + chunk : chunk).Append("\r\n");
        }

        var response = await RawAsync($"POST /talkdesk/events HTTP/1.1\r\nHost: x\r\nX-API-Key: {GatewayHost.ApiKey}\r\n"
            + $"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}");

        Assert.StartsWith("HTTP/1.1 413", response, StringComparison.Ordinal);
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task A_content_length_that_lies_is_cut_off_by_the_minimum_data_rate()
    {
        var response = await RawAsync($"POST /talkdesk/events HTTP/1.1\r\nHost: x\r\nX-API-Key: {GatewayHost.ApiKey}\r\n"
            + "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"event_type\":\"conversation_ended\"}");

        Assert.StartsWith("HTTP/1.1 408", response, StringComparison.Ordinal);
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Too_many_headers_get_431()
    {
        var headers = new StringBuilder();
        for (var i = 0; i < 100; i++)
        {
            headers.Append("X-Filler-").Append(i).Append(": x\r\n");
        }

        var response = await RawAsync($"POST /talkdesk/events HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: 2\r\n\r\n{{}}");

        Assert.StartsWith("HTTP/1.1 431", response, StringComparison.Ordinal);
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Theory]
    [InlineData("{\"event_type\":\"conversation_ended\",\"conversation_id\":\"c\",\"timestamp\":1e999999}")]
    [InlineData("{\"event_type\":\"conversation_ended\",\"conversation_id\":\"c\",\"timestamp\":123456789012345678901234567890123456789}")]
    public async Task Huge_numbers_get_a_clear_400(string body)
    {
        using var client = new HttpClient { BaseAddress = _host.KestrelAddress };
        client.DefaultRequestHeaders.Add(GatewayHost.ApiKeyHeader, GatewayHost.ApiKey);

        var response = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task A_very_long_string_within_the_cap_is_checked_like_any_other()
    {
        using var client = new HttpClient { BaseAddress = _host.KestrelAddress };
        client.DefaultRequestHeaders.Add(GatewayHost.ApiKeyHeader, GatewayHost.ApiKey);
        var body = "{\"event_type\":\"conversation_ended\",\"conversation_id\":\"" + new string('x', 200_000) + "\",\"timestamp\":\"t\"}";

        var response = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Encoding.UTF8.GetBytes(body), Assert.Single(_host.Ocp.LogEntries).RequestMessage.BodyAsBytes);
    }

    /// <summary>Sends raw bytes and returns what the server answered before closing or within 10 s.</summary>
    private async Task<string> RawAsync(string request, bool halfClose = false)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(_host.KestrelAddress.Host, _host.KestrelAddress.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        if (halfClose)
        {
            socket.Client.Shutdown(SocketShutdown.Send);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[16 * 1024];
        var received = new StringBuilder();
        try
        {
            while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) || !LooksComplete(received.ToString()))
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                received.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (IOException)
        {
            // The server may reset the connection after answering.
        }

        return received.ToString();
    }

    private static bool LooksComplete(string response)
    {
        var split = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var headers = response[..split];
        var length = headers.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is null ? headers.Contains("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) ? response.EndsWith("0\r\n\r\n", StringComparison.Ordinal) : true
            : response.Length - split - 4 >= int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A body that starts a valid-looking event and never ends.</summary>
    private sealed class EndlessJson : Stream
    {
        private bool _started;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (!_started)
            {
                _started = true;
                var head = "{\"event_type\":\"conversation_ended\",\"conversation_id\":\""u8;
                head.CopyTo(buffer.AsSpan(offset));
                return head.Length;
            }

            buffer.AsSpan(offset, count).Fill((byte)'x');
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
