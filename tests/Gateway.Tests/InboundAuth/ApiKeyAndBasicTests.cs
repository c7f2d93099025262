using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.InboundAuth;

public sealed class ApiKeyAndBasicTests
{
    [Fact]
    public async Task Valid_api_key_forwards_without_the_key()
    {
        using var host = Host(new());

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headers = Assert.Single(host.Ocp.LogEntries).RequestMessage.Headers!;
        Assert.False(headers.ContainsKey(GatewayHost.ApiKeyHeader));
        Assert.DoesNotContain(headers.Values.SelectMany(v => v), v => v.Contains(GatewayHost.ApiKey, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, "missing")]
    [InlineData("not-the-key-at-all-0001", "invalid")]
    public async Task Missing_or_wrong_api_key_gets_401_and_ocp_receives_nothing(string? key, string reason)
    {
        using var host = Host(new());
        var client = host.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = Samples.Json(Samples.Bytes("message_created")) };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(GatewayHost.ApiKeyHeader, key);
        }

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("urn:ocp-gateway:problem:unauthenticated", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("ApiKey header=\"X-API-Key\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Empty(host.Ocp.LogEntries);
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains($"ocp_gateway_inbound_auth_rejections_total{{route=\"talkdesk-events\",reason=\"{reason}\"}} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Both_keys_work_while_a_key_is_rotated()
    {
        using var host = Host(new() { ["Gateway:InboundAuth:talkdesk:ApiKeys:1"] = "the-next-key-000000002" });
        var client = host.CreateAnonymousClient();

        var old = await SendWithKeyAsync(client, GatewayHost.ApiKey);
        var next = await SendWithKeyAsync(client, "the-next-key-000000002");

        Assert.Equal(HttpStatusCode.OK, old.StatusCode);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(2, host.Ocp.LogEntries.Count);
    }

    [Fact]
    public async Task Basic_credentials_are_checked_and_never_forwarded()
    {
        var hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData("correct horse battery"u8));
        using var host = Host(new()
        {
            ["Gateway:InboundAuth:basic:Type"] = "Basic",
            ["Gateway:InboundAuth:basic:Users:talkdesk"] = hash,
            ["Gateway:InboundAuth:basic:AllowInsecureProtocol"] = "true",
            ["ReverseProxy:Routes:talkdesk-events:AuthorizationPolicy"] = "basic",
            // No token client: nothing else would replace the Authorization header.
            ["ReverseProxy:Clusters:ocp:Metadata:TokenClient"] = "",
        });
        var client = host.CreateAnonymousClient();

        var valid = await SendWithBasicAsync(client, "talkdesk", "correct horse battery");
        var wrong = await SendWithBasicAsync(client, "talkdesk", "wrong horse");
        var unknown = await SendWithBasicAsync(client, "someone", "correct horse battery");

        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.StartsWith("Basic", wrong.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        var forwarded = Assert.Single(host.Ocp.LogEntries).RequestMessage.Headers!;
        Assert.False(forwarded.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task A_refused_callers_body_is_never_read()
    {
        var probe = new BodyReadProbe();
        using var host = GatewayHost.Create(new Dictionary<string, string?>(), services: s => s.AddSingleton<IStartupFilter>(probe));
        var body = new byte[10 * 1024 * 1024];

        var response = await host.CreateAnonymousClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, probe.BytesRead);
        Assert.Empty(host.Ocp.LogEntries);

        // The probe does see the body of an accepted caller.
        await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));
        Assert.Equal(Samples.Bytes("conversation_ended").Length, probe.BytesRead);
    }

    private static GatewayHost Host(Dictionary<string, string?> settings)
    {
        var host = GatewayHost.Create(settings);
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        return host;
    }

    private static Task<HttpResponseMessage> SendWithKeyAsync(HttpClient client, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = Samples.Json(Samples.Bytes("conversation_ended")) };
        request.Headers.Add(GatewayHost.ApiKeyHeader, key);
        return client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> SendWithBasicAsync(HttpClient client, string user, string password)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = Samples.Json(Samples.Bytes("conversation_ended")) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return client.SendAsync(request);
    }

    /// <summary>Counts, on the server, every byte the gateway's pipeline reads from a request body.</summary>
    private sealed class BodyReadProbe : IStartupFilter
    {
        private long _read;

        public long BytesRead => Interlocked.Read(ref _read);

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Request.Body = new CountingStream(context.Request.Body, n => Interlocked.Add(ref _read, n));
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    private sealed class CountingStream(Stream inner, Action<int> counted) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            counted(n);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            counted(n);
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
