using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace OcpTalkdesk.Gateway.Health;

/// <summary>Writes a health report as JSON: overall status, then each check with its description and data.</summary>
internal static class HealthJsonWriter
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteNumber("durationMs", report.TotalDuration.TotalMilliseconds);
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            if (entry.Description is not null)
            {
                json.WriteString("description", entry.Description);
            }

            foreach (var (key, value) in entry.Data)
            {
                json.WriteString(key, value?.ToString());
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
