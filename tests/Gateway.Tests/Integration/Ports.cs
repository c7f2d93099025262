using System.Net;
using System.Net.Sockets;

namespace OcpTalkdesk.Gateway.Tests.Integration;

public static class Ports
{
    /// <summary>A loopback port that was free a moment ago: connecting to it is refused.</summary>
    public static int Closed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
