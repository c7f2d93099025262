using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Problems;
using OcpTalkdesk.Gateway.Tests.Integration;
using OcpTalkdesk.Gateway.Tests.Problems;
using OcpTalkdesk.Gateway.Validation;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace OcpTalkdesk.Gateway.Tests.Validation;

/// <summary>The validation step alone, on a <see cref="DefaultHttpContext"/>: what it hands on, what it answers.</summary>
public sealed class EventValidationMiddlewareTests : IDisposable
{
    private readonly SchemaRegistry _registry;
    private readonly ProblemResponder _problems;

    public EventValidationMiddlewareTests()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:EventTypes:message_created:Schema"] = "message_created.schema.json",
        }).Build();
        var options = new ValidationOptions();
        configuration.GetSection("Gateway").Bind(options);
        _registry = new SchemaRegistry(Options.Create(options), configuration, new ValidationOptionsValidator(), new GatewayMetrics(), NullLogger<SchemaRegistry>.Instance);
        Services = ProblemServices.Create();
        _problems = Services.GetRequiredService<ProblemResponder>();
    }

    private ServiceProvider Services { get; }

    public void Dispose()
    {
        _registry.Dispose();
        Services.Dispose();
    }

    private DefaultHttpContext Context(byte[] body, bool talkdeskRoute = true)
    {
        var context = new DefaultHttpContext { RequestServices = Services };
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = body.Length;
        context.Response.Body = new MemoryStream();
        var route = new RouteConfig
        {
            RouteId = "talkdesk-events",
            Metadata = talkdeskRoute ? new Dictionary<string, string> { ["TalkdeskActions"] = "true" } : null,
        };
        context.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature { Route = new RouteModel(route, null, HttpTransformer.Empty) });
        return context;
    }

    private async Task<(DefaultHttpContext Context, byte[]? Forwarded)> RunAsync(DefaultHttpContext context)
    {
        byte[]? forwarded = null;
        var middleware = new EventValidationMiddleware(async c =>
        {
            using var copy = new MemoryStream();
            await c.Request.Body.CopyToAsync(copy);
            forwarded = copy.ToArray();
        }, _registry, _problems, new GatewayMetrics(), NullLogger<EventValidationMiddleware>.Instance);
        await middleware.InvokeAsync(context);
        return (context, forwarded);
    }

    [Fact]
    public async Task A_valid_event_is_handed_on_as_the_exact_bytes_with_a_content_length()
    {
        var body = Samples.Bytes("message_created");

        var (context, forwarded) = await RunAsync(Context(body));

        Assert.Equal(body, forwarded);
        Assert.Equal(body.Length, context.Request.ContentLength);
        Assert.Equal("message_created", context.Features.Get<ValidatedEvent>()!.Schema.EventType);
    }

    [Fact]
    public async Task An_invalid_event_is_answered_400_with_its_violations_and_not_handed_on()
    {
        var (context, forwarded) = await RunAsync(Context("""{"event_type":"message_created","conversation_id":7}"""u8.ToArray()));

        Assert.Null(forwarded);
        Assert.Equal(400, context.Response.StatusCode);
        context.Response.Body.Position = 0;
        using var problem = JsonDocument.Parse(context.Response.Body);
        Assert.Equal("urn:ocp-gateway:problem:schema-violation", problem.RootElement.GetProperty("type").GetString());
        Assert.Contains(problem.RootElement.GetProperty("errors").EnumerateArray(),
            e => e.GetProperty("pointer").GetString() == "/conversation_id" && e.GetProperty("keyword").GetString() == "type");
    }

    [Fact]
    public async Task A_route_not_marked_for_talkdesk_is_not_checked()
    {
        var (_, forwarded) = await RunAsync(Context("not json"u8.ToArray(), talkdeskRoute: false));

        Assert.Equal("not json"u8.ToArray(), forwarded);
    }

    [Fact]
    public async Task A_body_that_is_not_json_media_type_gets_415()
    {
        var context = Context(Samples.Bytes("message_created"));
        context.Request.ContentType = "text/plain";

        var (answered, forwarded) = await RunAsync(context);

        Assert.Null(forwarded);
        Assert.Equal(415, answered.Response.StatusCode);
    }
}
