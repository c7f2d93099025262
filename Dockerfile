# Multi-stage build of the gateway on the official .NET images.
# The publish command is the same one .ci/run runs, so CI exercises it even without a Docker engine.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Gateway/Gateway.csproj -c Release -o artifacts/publish

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /src/artifacts/publish .
# 8080 takes Talkdesk's events; 9090 serves /metrics, /healthz and /readyz only (management port).
ENV ASPNETCORE_HTTP_PORTS="8080;9090" \
    Gateway__ManagementPort=9090 \
    DOTNET_gcServer=0
EXPOSE 8080 9090
# The runtime image has no curl: the gateway probes itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["dotnet", "OcpTalkdesk.Gateway.dll", "healthcheck", "http://127.0.0.1:9090/healthz"]
# The aspnet image ships a non-root 'app' user; $APP_UID is its id.
USER $APP_UID
ENTRYPOINT ["dotnet", "OcpTalkdesk.Gateway.dll"]
