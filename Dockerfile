# syntax=docker/dockerfile:1
# DSConvService: the Api (with its in-process worker) and the standalone worker in one image.
#   docker build -t dsconv-service .
#   docker run -p 8080:8080 -v dsconv-data:/data dsconv-service                       # the Api
#   docker run -v dsconv-data:/data --entrypoint dotnet dsconv-service worker/DSConvService.Worker.dll   # a worker
# With Jobs__Store=postgres and Storage__Blobs=postgres /data holds only scratch files (spooled inputs),
# so every container may have its own: see docker-compose.yml and README "Running on several machines".

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first (cached while only sources change).
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Core/Core.csproj src/Core/
COPY src/Worker/Worker.csproj src/Worker/
COPY src/ReportHtml/ReportHtml.csproj src/ReportHtml/
COPY src/Api/Api.csproj src/Api/
RUN dotnet restore src/Api/Api.csproj
COPY src/Core/ src/Core/
COPY src/Worker/ src/Worker/
COPY src/ReportHtml/ src/ReportHtml/
COPY src/Api/ src/Api/
RUN dotnet publish src/Api/Api.csproj -c Release -o /out/api --no-restore \
 && dotnet publish src/Worker/Worker.csproj -c Release -o /out/worker --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /out/api ./api
COPY --from=build /out/worker ./worker
# The data directory (SQLite database, uploads, artifacts, reports) is a volume owned by the non-root user.
RUN mkdir -p /data && chown "$APP_UID" /data
VOLUME /data
ENV Storage__DataDirectory=/data \
    ASPNETCORE_URLS=http://+:8080 \
    Logging__Format=json
USER $APP_UID
EXPOSE 8080
ENTRYPOINT ["dotnet", "api/DSConvService.Api.dll"]
