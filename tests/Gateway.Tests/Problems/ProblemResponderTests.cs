using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OcpTalkdesk.Gateway.Problems;

namespace OcpTalkdesk.Gateway.Tests.Problems;

public sealed class ProblemResponderTests
{
    private static (ProblemResponder Responder, DefaultHttpContext Context) Create()
    {
        var services = ProblemServices.Create();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Path = "/talkdesk/events";
        context.Response.Body = new MemoryStream();
        return (services.GetRequiredService<ProblemResponder>(), context);
    }

    private static JsonElement Body(HttpContext context)
    {
        context.Response.Body.Position = 0;
        return JsonDocument.Parse(context.Response.Body).RootElement.Clone();
    }

    [Fact]
    public async Task Writes_rfc_9457_problem_json_with_type_detail_instance_extensions_and_the_callers_trace()
    {
        var (responder, context) = Create();
        const string Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        context.Request.Headers["traceparent"] = Traceparent;

        await responder.WriteAsync(context, 400, "urn:ocp-gateway:problem:schema-violation", "Event does not match its schema", "why",
            "errors", new[] { "e1" }, "omittedErrors", 3);

        Assert.Equal(400, context.Response.StatusCode);
        Assert.StartsWith("application/problem+json", context.Response.ContentType, StringComparison.Ordinal);
        var body = Body(context);
        Assert.Equal("urn:ocp-gateway:problem:schema-violation", body.GetProperty("type").GetString());
        Assert.Equal("why", body.GetProperty("detail").GetString());
        Assert.Equal("/talkdesk/events", body.GetProperty("instance").GetString());
        Assert.Equal(Traceparent, body.GetProperty("traceId").GetString());
        Assert.Equal("e1", body.GetProperty("errors")[0].GetString());
        Assert.Equal(3, body.GetProperty("omittedErrors").GetInt32());
    }

    [Fact]
    public async Task Without_trace_context_the_request_id_is_the_trace_id_and_a_caller_refusing_json_still_gets_the_body()
    {
        var (responder, context) = Create();
        context.TraceIdentifier = "request-42";
        context.Request.Headers.Accept = "text/html";
        context.Request.Headers["traceparent"] = "not-a-traceparent";

        await responder.WriteAsync(context, 503, "urn:ocp-gateway:problem:credentials-unavailable", "t", "d");

        Assert.Equal(503, context.Response.StatusCode);
        Assert.Equal("request-42", Body(context).GetProperty("traceId").GetString());
    }
}
