using System.Net.Http.Headers;
using System.Text;

namespace OcpTalkdesk.Gateway.Tests.Integration;

/// <summary>The sample events shipped in config/samples, as bytes exactly as on disk.</summary>
public static class Samples
{
    public static readonly string[] Names =
    [
        "conversation_started", "message_created", "message_created_with_attachments", "conversation_ended",
    ];

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "samples", name + ".json"));

    public static ByteArrayContent Json(byte[] body, string contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    public static ByteArrayContent Json(string body, string contentType = "application/json") => Json(Encoding.UTF8.GetBytes(body), contentType);
}
