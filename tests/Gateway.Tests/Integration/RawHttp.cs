using System.Net.Sockets;
using System.Text;

namespace OcpTalkdesk.Gateway.Tests.Integration;

/// <summary>Raw HTTP/1.1 over a socket, for what a client library would refuse to send or would tidy up.</summary>
public static class RawHttp
{
    /// <summary>Sends the bytes and returns what the server answered before closing, or within <paramref name="wait"/> (10 s by default).</summary>
    public static async Task<string> SendAsync(int port, string request, TimeSpan? wait = null)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync("127.0.0.1", port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request));
        return await ReadAsync(stream, wait ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>Reads one answer: up to the end of its body, the server's close, or the time limit.</summary>
    public static async Task<string> ReadAsync(Stream stream, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        var buffer = new byte[16 * 1024];
        var received = new StringBuilder();
        try
        {
            while (!LooksComplete(received.ToString()))
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
        catch (OperationCanceledException)
        {
            received.Append("<no answer within the time limit>");
        }

        return received.ToString();
    }

    /// <summary>The status code of a raw answer, or 0 when there is none.</summary>
    public static int StatusOf(string response) =>
        response.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && response.Length >= 12
            ? int.Parse(response.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture)
            : 0;

    private static bool LooksComplete(string response)
    {
        var split = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0)
        {
            return false;
        }

        var headers = response[..split];
        var length = headers.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is null
            ? !headers.Contains("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || response.EndsWith("0\r\n\r\n", StringComparison.Ordinal)
            : response.Length - split - 4 >= int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
